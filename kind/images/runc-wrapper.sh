#!/bin/sh
# runc wrapper for hosts without CAP_SYS_RESOURCE (installed by engine.sh only on such hosts).
# Drops CAP_SYS_RESOURCE from the OCI bundle's config.json (`create`/`run`) and from the process spec
# of `exec`, then runs the real runc with the same arguments. Needs python3 (present wherever
# docker.io is installed from Debian alongside this project).
set -e
bundle=""; process=""; prev=""
for a in "$@"; do
  case "$prev" in --bundle|-b) bundle=$a ;; --process|-p) process=$a ;; esac
  case "$a" in --bundle=*) bundle=${a#--bundle=} ;; --process=*) process=${a#--process=} ;; esac
  prev=$a
done
strip() {
  python3 - "$1" <<'PY'
import json, sys
path = sys.argv[1]
with open(path) as f:
    spec = json.load(f)
proc = spec.get("process", spec)
caps = proc.get("capabilities") or {}
for key, value in list(caps.items()):
    if isinstance(value, list):
        caps[key] = [c for c in value if c != "CAP_SYS_RESOURCE"]
with open(path, "w") as f:
    json.dump(spec, f)
PY
}
case " $* " in *" create "*|*" run "*) [ -n "$bundle" ] || bundle=$PWD ;; esac
[ -n "$bundle" ] && [ -f "$bundle/config.json" ] && strip "$bundle/config.json"
[ -n "$process" ] && [ -f "$process" ] && strip "$process"
exec runc "$@"
