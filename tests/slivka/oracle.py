"""slivka's own answers for the differential test (tests/slivka.rs): each
corpus case (corpus.py) run through the form slivka 0.8.5b7 builds with its
own loaders from the service files, and runner cases through a size-tier
selector built on slivka's own BaseSelector, called the way slivka's
scheduler calls selectors.

The job-to-form mapping is the one the issue pins: a string is one value, a
list is each non-null element in order, null is no value; for a file field
each string is the content of an uploaded file (a FileProxy over BytesIO, as
the server wraps an upload), other fields' strings go in the form data. An
input name the form does not know makes slivka's server raise (KeyError,
HTTP 500), so it is answered as such without building the form.

Answers, one JSON object per line, in the corpus's order:
    {"id", "valid": bool, "errors": {field: code}}       a form case
    {"id", "runner": name | null}                         a runner case
    {"id", "error": "http500: ...", "raised": where}      slivka raised
where `raised` is "unknown-parameter", "condition" or "other".

usage: oracle.py --services DIR [--services DIR ...] --tiers tiers.json < cases > answers
       oracle.py --check-services DIR    (prints each service's runners; fails if
                                          slivka cannot load a file or a runner type)
"""

import argparse
import collections
import inspect
import io
import json
import os
import sys
import tempfile
import traceback
import warnings

import Bio.SeqIO
from werkzeug.datastructures import MultiDict

import slivka.scheduler.runners
from slivka.conf.loaders import SettingsLoader_0_8_5b5
from slivka.scheduler.scheduler import BaseSelector, SelectorContext, SelectorMeta
from slivka.server.forms.fields import FileField
from slivka.server.forms.file_proxy import FileProxy
from slivka.server.forms.form import FormLoader

# Files of a media type slivka has no check for make it warn; the verdict
# (accepted) is what matters here.
warnings.simplefilter("ignore")


def load_services(directory, home):
    """The services of `directory` as slivka's settings loader reads them."""
    loader = SettingsLoader_0_8_5b5()
    loader.read_dict({
        "directory": {"home": home, "services": os.path.abspath(directory)},
        # Required by the settings schema; never contacted.
        "server": {"host": "127.0.0.1:4040"},
        "local-queue": {"host": "127.0.0.1:4041"},
        "mongodb": {"host": "127.0.0.1:27017", "database": "slivka"},
    })
    return loader.build().services


def tier_selector(tiers):
    """A selector in slivka-bio's style: setup() counts the records of the
    `input` file and floors their average length with Biopython; one
    limit_<runner> method per tier, in order."""
    attrs = collections.OrderedDict()

    def setup(self, inputs):
        count = total = 0
        for record in Bio.SeqIO.parse(inputs["input"], "fasta"):
            count += 1
            total += len(record.seq)
        self.count = count
        self.average = total // count

    attrs["setup"] = setup
    for tier in tiers:
        def limit(self, inputs, _tier=tier, **_options):
            return (self.count <= _tier["max-sequences"] and
                    self.average <= _tier["max-average-length"])
        attrs["limit_" + tier["runner"]] = limit
    return SelectorMeta("TierSelector", (BaseSelector,), attrs)()


def submission(form_cls, inputs):
    """The (data, files) MultiDicts slivka's server would build."""
    data, files = MultiDict(), MultiDict()
    for name, value in inputs.items():
        if value is None:
            values = []
        elif isinstance(value, list):
            values = [v for v in value if v is not None]
        else:
            values = [value]
        for text in values:
            if isinstance(form_cls[name], FileField):
                files.add(name, FileProxy(file=io.BytesIO(text.encode("utf-8"))))
            else:
                data.add(name, text)
    return data, files


def raised(error):
    frames = [frame.name for frame in traceback.extract_tb(error.__traceback__)]
    if "test_condition" in frames:
        return "condition"
    return "other"


def to_args(form, workdir):
    """The request's inputs as the scheduler sees them: each field's to_arg,
    uploaded files saved to disk first (as the server does)."""
    inputs = {}
    for n, field in enumerate(form.fields.values()):
        value = form.cleaned_data[field.id]
        proxies = value if isinstance(value, list) else [value]
        for i, proxy in enumerate(proxies):
            if isinstance(proxy, FileProxy):
                proxy.save_as(os.path.join(workdir, "f%d-%d" % (n, i)))
        inputs[field.id] = field.to_arg(value)
    return inputs


def answer(case, forms, configs, selectors, workdir):
    service = case["service"]
    form_cls = forms[service]
    inputs = case["inputs"]
    # A name with no value (null, or a list of nulls) is not sent at all.
    unknown = [name for name, value in inputs.items()
               if name not in form_cls.fields and value is not None
               and (not isinstance(value, list) or any(v is not None for v in value))]
    if unknown:
        return {"error": "http500: KeyError: %r" % unknown[0], "raised": "unknown-parameter"}
    inputs = {name: value for name, value in inputs.items() if name in form_cls.fields}
    data, files = submission(form_cls, inputs)
    form = form_cls(data, files)
    try:
        form.full_clean()
    except Exception as e:  # slivka's server answers 500
        return {"error": "http500: %s: %s" % (type(e).__name__, e), "raised": raised(e)}
    errors = {field: err.code for field, err in form.errors.items()}
    if case["type"] != "runner" or errors:
        return {"valid": not errors, "errors": errors}
    selector = selectors.get(service, BaseSelector.default)
    config = configs[service]
    runners = list(config.execution.runners.values())
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        args = to_args(form, tmp)
        kwargs = {}
        if "context" in inspect.signature(selector).parameters:
            kwargs["context"] = SelectorContext(
                service=service,
                runners=[r.id for r in runners],
                runner_options={r.id: r.selector_options for r in runners},
            )
        try:
            runner = selector(args, **kwargs)
        except Exception as e:
            return {"error": "selector: %s: %s" % (type(e).__name__, e), "raised": "other"}
    return {"runner": runner}


def check_services(directory):
    with tempfile.TemporaryDirectory() as home:
        services = load_services(directory, home)
    report = {}
    for service in sorted(services, key=lambda s: s.id):
        FormLoader().read_config(service)
        runners = {}
        for name, runner in service.execution.runners.items():
            if "." not in runner.type and not hasattr(slivka.scheduler.runners, runner.type):
                sys.exit("%s: runner %s has type %s, which slivka does not have"
                         % (service.id, name, runner.type))
            runners[name] = runner.type
        report[service.id] = {"runners": runners}
    json.dump(report, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", action="append", default=[])
    parser.add_argument("--tiers")
    parser.add_argument("--check-services")
    args = parser.parse_args()
    if args.check_services:
        check_services(args.check_services)
        return
    with tempfile.TemporaryDirectory() as workdir:
        forms, configs = {}, {}
        loader = FormLoader()
        for directory in args.services:
            for service in load_services(directory, workdir):
                forms[service.id] = loader.read_config(service)
                configs[service.id] = service
        with open(args.tiers) as f:
            tiers = json.load(f)
        selectors = {service: tier_selector(t) for service, t in tiers.items()}
        out = sys.stdout
        for line in sys.stdin:
            case = json.loads(line)
            result = answer(case, forms, configs, selectors, workdir)
            result = dict(id=case["id"], **result)
            out.write(json.dumps(result, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    main()
