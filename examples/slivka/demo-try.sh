#!/usr/bin/env bash
# The plugin half of the slivka demo, without Redis: every sample job in
# examples/slivka/jobs/ goes through `switchyard try`, first slivka-form
# (with the service files of examples/slivka/services/, as the `[slivka]`
# section of examples/slivka/switchyard.toml hands them to it) and, if the
# job is valid, fasta-size (with that file's tiers, allowed to pick
# queue:local or queue:default). One line per job says where it would end.
#
#   examples/slivka/demo-try.sh [JOB.json...]
#
# Needs `make plugins build` (SWITCHYARD_BIN overrides the binary) and python3
# to summarise the JSON answers.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SWITCHYARD_BIN:-$root/target/debug/switchyard}"
plugins="$root/target/plugins"
services="$root/examples/slivka/services"
# The tiers of switchyard.toml's [plugin.fasta-size.config.tiers] (slivka-bio's
# limits), as the host hands a TOML table to a plugin: its JSON text.
tiers='{"clustalo": [{"runner": "local", "max-sequences": 30, "max-average-length": 500},
                    {"runner": "default", "max-sequences": 2000, "max-average-length": 1000}],
        "mafft": [{"runner": "local", "max-sequences": 20, "max-average-length": 500},
                  {"runner": "default", "max-sequences": 1000, "max-average-length": 1000}]}'

for file in "$bin" "$plugins/slivka-form.wasm" "$plugins/fasta-size.wasm"; do
    if [ ! -e "$file" ]; then
        echo "demo-try: $file is missing; run \`make plugins build\` first" >&2
        exit 2
    fi
done

if [ "$#" -gt 0 ]; then
    jobs=("$@")
else
    jobs=("$root"/examples/slivka/jobs/*.json)
fi

# slivka-form: one `service.ID` per service file, its whole text.
form_config=()
for file in "$services"/*.service.yaml; do
    form_config+=(--config "service.$(basename "$file" .service.yaml)=@$file")
done
# fasta-size: the tiers, and runner R's stream queue:R.
size_config=(--config "tiers=$tiers" --config "target-pattern=queue:{runner}"
    --allow queue:local --allow queue:default)

# Prints one step's answer (`switchyard try` JSON on stdin) in a few words.
summarise() {
    python3 -c '
import json, sys
answer = json.load(sys.stdin)
if "error" in answer:
    print("ERROR ({kind}): {message}".format(**answer["error"]))
elif "route" in answer:
    route = answer["route"]
    if "reject" in route:
        print("rejected by fasta-size: " + route["reject"])
    else:
        print("; ".join(
            "-> {} ({})".format(t["stream"], ", ".join(f"{k}={v}" for k, v in t["extra-fields"].items()))
            for t in route["dispatch"]))
elif answer["validate"]["valid"]:
    print("valid")
else:
    print("rejected by slivka-form: " + "; ".join(
        "{field} {code} ({message})".format(**e) for e in answer["validate"]["errors"]))
'
}

errors="$(mktemp)"
trap 'rm -f "$errors"' EXIT

# Runs `switchyard try ARGS...`; prints its JSON answer, or its usage error
# (exit 2, message on stderr) in the same shape.
try_plugin() {
    local out status=0
    out=$("$bin" try "$@" 2>"$errors") || status=$?
    if [ "$status" -eq 2 ]; then
        python3 -c 'import json, sys; print(json.dumps({"error": {"kind": "usage", "message": sys.stdin.read().strip()}}))' <"$errors"
    else
        echo "$out"
    fi
}

for job in "${jobs[@]}"; do
    name="$(basename "$job")"
    verdict="$(try_plugin "${form_config[@]}" "$plugins/slivka-form.wasm" "$job" | summarise)"
    if [ "$verdict" = valid ]; then
        verdict="valid $(try_plugin "${size_config[@]}" "$plugins/fasta-size.wasm" "$job" | summarise)"
    fi
    printf '%-36s %s\n' "$name" "$verdict"
done
