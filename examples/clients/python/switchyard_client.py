#!/usr/bin/env python3
"""The front end's side of switchyard, as a slivka web worker would write it
with redis-py: push a job request onto the source stream, then read the
status record switchyard writes when it has settled the job.

This file is the reference for the client contract described in README.md
beside it; copy the three functions into a front end, or run it as a small
command line to try a deployment:

    python3 switchyard_client.py --redis-url URL submit --service clustalo \\
        --input sequences.fasta --param iterations=2 --param dealign=yes
    python3 switchyard_client.py --redis-url URL status JOB_ID

URL is a redis-py URL (redis://, rediss://, unix://) or switchyard's own
unix-socket form, redis+unix:///path/redis.sock?user=USER&pass=PASSWORD.
"""

import argparse
import base64
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Union
from urllib.parse import parse_qs, urlsplit

import redis

#: slivka's numbers for the states a front end can read here. switchyard's
#: part of a job ends in ACCEPTED, REJECTED or ERROR; no record yet is PENDING.
STATES = {"PENDING": 1, "REJECTED": 2, "ACCEPTED": 3, "ERROR": 10}

#: Where switchyard keeps status records unless [status] prefix says otherwise.
DEFAULT_PREFIX = "switchyard:job:"

#: The stream slivka's web workers push to in the example config.
DEFAULT_STREAM = "jobs"

#: Status record fields that hold comma-separated lists.
_LIST_FIELDS = ("targets", "plugins")
#: Status record fields that hold integers.
_INT_FIELDS = ("state", "updated")

Inputs = Dict[str, Union[str, List[str], None]]


def new_job_id() -> str:
    """A job id as slivka makes one: URL-safe base64 of 12 random bytes,
    16 characters."""
    return base64.urlsafe_b64encode(os.urandom(12)).decode("ascii")


def submit(
    r: "redis.Redis",
    service: str,
    inputs: Inputs,
    job_id: Optional[str] = None,
    stream: str = DEFAULT_STREAM,
) -> str:
    """Pushes one job request and returns its job id.

    `inputs` maps each parameter name to a string, a list of strings or None,
    as slivka sends them: numbers as "5", flags as "true"/"false", files as
    their text (or a path the plugins may read).
    """
    job_id = job_id or new_job_id()
    payload = json.dumps({"inputs": inputs}, separators=(",", ":"))
    r.xadd(stream, {"service": service, "job-id": job_id, "payload": payload})
    return job_id


def status_key(job_id: str, prefix: str = DEFAULT_PREFIX, stream: Optional[str] = None) -> str:
    """The key of a job's status record. On one Redis server it is
    PREFIX + JOB-ID. On a Redis Cluster (pass the source `stream` the job
    was pushed to) it carries the stream's hash tag, so that it lives on the
    stream's shard: PREFIX + "{" + TAG + "}:" + JOB-ID, where TAG is the
    text between the stream's first "{" and the next "}", or the whole
    stream name when it has no such tag."""
    if stream is None:
        return prefix + job_id
    return prefix + "{" + hash_tag(stream) + "}:" + job_id


def hash_tag(key: str) -> str:
    """The part of `key` Redis Cluster hashes: its {hash tag}, or all of it."""
    open_ = key.find("{")
    if open_ >= 0:
        close = key.find("}", open_ + 1)
        if close > open_ + 1:
            return key[open_ + 1 : close]
    return key


def status(
    r: "redis.Redis",
    job_id: str,
    prefix: str = DEFAULT_PREFIX,
    stream: Optional[str] = None,
) -> Dict[str, Any]:
    """The job's status now: the decoded status record, or
    {"status": "PENDING", "state": 1} when switchyard has not settled it yet
    (or its record has expired). On a Redis Cluster pass the source
    `stream` (see status_key)."""
    record = _read(r, job_id, prefix, stream)
    if record is None:
        return {"status": "PENDING", "state": STATES["PENDING"]}
    return record


def wait_status(
    r: "redis.Redis",
    job_id: str,
    timeout: float = 10.0,
    prefix: str = DEFAULT_PREFIX,
    stream: Optional[str] = None,
) -> Dict[str, Any]:
    """Polls until the job's status record exists and returns it decoded.

    Raises TimeoutError when there is still no record after `timeout`
    seconds: the job is PENDING (switchyard is behind or not running).
    """
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        record = _read(r, job_id, prefix, stream)
        if record is not None:
            return record
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no status for job {job_id} after {timeout:g} s: still PENDING")
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.5)


def decode(raw: Dict[Any, Any]) -> Dict[str, Any]:
    """A status record (HGETALL's answer, bytes or text) as Python values:
    `state` and `updated` as int, `targets` and `plugins` as lists,
    `errors` as the list of {field, code, message} it holds in JSON."""
    record = {_text(k): _text(v) for k, v in raw.items()}
    for name in _INT_FIELDS:
        if name in record:
            record[name] = int(record[name])
    for name in _LIST_FIELDS:
        if name in record:
            record[name] = [item for item in record[name].split(",") if item]
    if "errors" in record:
        record["errors"] = json.loads(record["errors"])
    return record


def connect(url: str, cluster: bool = False) -> "redis.Redis":
    """A client for `url`. Accepts redis-py's URLs and switchyard's
    redis+unix:///path?user=U&pass=P, so one URL works for both. With
    `cluster`, a Redis Cluster client seeded by the node at `url`."""
    if cluster:
        return redis.RedisCluster.from_url(url)
    parts = urlsplit(url)
    if parts.scheme == "redis+unix":
        query = parse_qs(parts.query)

        def one(name: str) -> Optional[str]:
            return query.get(name, [None])[0]

        return redis.Redis(
            unix_socket_path=parts.path,
            username=one("user"),
            password=one("pass"),
            db=int(one("db") or 0),
        )
    return redis.Redis.from_url(url)


def _read(
    r: "redis.Redis", job_id: str, prefix: str, stream: Optional[str] = None
) -> Optional[Dict[str, Any]]:
    raw = r.hgetall(status_key(job_id, prefix, stream))
    return decode(raw) if raw else None


def _text(value: Union[bytes, str]) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


# --- command line --------------------------------------------------------------


def _parse_params(pairs: List[str]) -> Inputs:
    """--param k=v pairs as inputs; a name given twice becomes a list."""
    inputs: Inputs = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"--param {pair!r}: expected NAME=VALUE")
        if name in inputs:
            previous = inputs[name]
            inputs[name] = (previous if isinstance(previous, list) else [previous]) + [value]
        else:
            inputs[name] = value
    return inputs


def _read_input(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as file:
        return file.read()


def _exit_code(record: Dict[str, Any]) -> int:
    return 0 if record.get("status") == "ACCEPTED" else 1


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="Submit a job to switchyard and read its status, as a slivka front end does.",
        epilog="Exit status: 0 ACCEPTED, 1 REJECTED or ERROR, 2 usage or Redis error, "
        "3 still PENDING when --timeout passed.",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", "redis://localhost:6379/0"),
        help="redis://, rediss://, unix:// or redis+unix:///path?user=U&pass=P "
        "(default: $REDIS_URL or redis://localhost:6379/0)",
    )
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="status record prefix")
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="Redis is a cluster: status records carry the source stream's hash tag",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    send = commands.add_parser("submit", help="push a job, wait for its status, print it as JSON")
    send.add_argument("--service", required=True, help="the service id, e.g. clustalo")
    send.add_argument("--input", metavar="FILE", help="the `input` parameter's text, read from FILE (- for stdin)")
    send.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="another parameter; repeatable")
    send.add_argument("--stream", default=DEFAULT_STREAM, help="the source stream")
    send.add_argument("--job-id", help="the job id (default: a new slivka-style id)")
    send.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the status")
    send.add_argument("--no-wait", action="store_true", help="print the job id and exit")

    show = commands.add_parser("status", help="print a job's status as JSON")
    show.add_argument("job_id", metavar="JOB_ID")
    show.add_argument("--stream", default=DEFAULT_STREAM, help="the source stream (used with --cluster)")

    args = parser.parse_args(argv)
    try:
        r = connect(args.redis_url, args.cluster)
        stream = args.stream if args.cluster else None
        if args.command == "status":
            record = {"job-id": args.job_id, **status(r, args.job_id, args.prefix, stream)}
            print(json.dumps(record, indent=2))
            return 3 if record["status"] == "PENDING" else _exit_code(record)

        inputs = _parse_params(args.param)
        if args.input is not None:
            inputs["input"] = _read_input(args.input)
        job_id = submit(r, args.service, inputs, job_id=args.job_id, stream=args.stream)
        if args.no_wait:
            print(json.dumps({"job-id": job_id, "status": "PENDING", "state": STATES["PENDING"]}, indent=2))
            return 0
        try:
            record = wait_status(r, job_id, timeout=args.timeout, prefix=args.prefix, stream=stream)
        except TimeoutError as e:
            print(json.dumps({"job-id": job_id, "status": "PENDING", "state": STATES["PENDING"]}, indent=2))
            print(f"switchyard_client: {e}", file=sys.stderr)
            return 3
        print(json.dumps({"job-id": job_id, **record}, indent=2))
        return _exit_code(record)
    except redis.RedisError as e:
        print(f"switchyard_client: Redis error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"switchyard_client: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
