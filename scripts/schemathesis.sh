#!/usr/bin/env bash
# Fuzz the livecart JSON API (/api/v1) with schemathesis, time-boxed.
#
# Usage:
#   scripts/schemathesis.sh [BASE_URL] [TOKEN] [-- extra `st run` options]
#   LIVECART_URL=http://127.0.0.1:3000 LIVECART_TOKEN=... scripts/schemathesis.sh
#
# TOKEN is an API token with write scope:
#   livecart token create --name schemathesis --scope write --database-url sqlite://...
# Prefer LIVECART_TOKEN over the argument (arguments show up in `ps`).
#
# WARNING: this writes to the shop behind BASE_URL (creates and edits products, changes
# stock, moves orders). Point it at a throwaway database only.
#
# Knobs (env): ST_MAX_TIME (seconds of testing, default 75), ST_MAX_EXAMPLES (default 50),
# ST_RATE_LIMIT (default 40/s; the API allows 50 requests/s per token and answers 429
# above that, without Retry-After), ST_WORKERS (default 1), ST_REPORT_DIR (default: a temp dir).
#
# Exit status: 0 when every check passed, non-zero otherwise (schemathesis' own code;
# 124 if the hard time limit had to stop it). The last line printed is a one-line summary.
set -euo pipefail

ST_VERSION=4.32.5
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance

BASE_URL=${LIVECART_URL:-http://127.0.0.1:3000}
TOKEN=${LIVECART_TOKEN:-}
if [[ $# -gt 0 && $1 != -- ]]; then BASE_URL=$1; shift; fi
if [[ $# -gt 0 && $1 != -- ]]; then TOKEN=$1; shift; fi
if [[ $# -gt 0 && $1 == -- ]]; then shift; fi
EXTRA=("$@")
BASE_URL=${BASE_URL%/}

if [[ -z $TOKEN ]]; then
  echo "usage: $0 [BASE_URL] [TOKEN] [-- st-run-options]   (or set LIVECART_URL / LIVECART_TOKEN)" >&2
  echo "schemathesis: NOT RUN - no API token given" >&2
  exit 2
fi

MAX_TIME=${ST_MAX_TIME:-75}
MAX_EXAMPLES=${ST_MAX_EXAMPLES:-50}
RATE_LIMIT=${ST_RATE_LIMIT:-40/s}
WORKERS=${ST_WORKERS:-1}
HARD_LIMIT=$((MAX_TIME + 30)) # loading + probing + writing reports, then SIGINT
REPORT_DIR=${ST_REPORT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/livecart-schemathesis.XXXXXX")}
mkdir -p "$REPORT_DIR"
JUNIT=$REPORT_DIR/junit.xml
rm -f "$JUNIT"

# --- find or install schemathesis (pinned) ------------------------------------------------
VENV=${XDG_CACHE_HOME:-$HOME/.cache}/livecart/schemathesis-$ST_VERSION
ST=()
if command -v st >/dev/null 2>&1 && st --version >/dev/null 2>&1; then
  ST=(st)
elif command -v schemathesis >/dev/null 2>&1 && schemathesis --version >/dev/null 2>&1; then
  ST=(schemathesis)
elif [[ -x $VENV/bin/st ]]; then
  ST=("$VENV/bin/st")
else
  echo "schemathesis not found; installing schemathesis==$ST_VERSION with pip..." >&2
  if PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION" >&2 &&
     python3 -m schemathesis.cli --version >/dev/null 2>&1; then
    ST=(python3 -m schemathesis.cli)
  else
    # e.g. an externally managed system Python: use a private virtualenv instead
    python3 -m venv "$VENV" >&2
    PIP_ROOT_USER_ACTION=ignore "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION" >&2
    ST=("$VENV/bin/st")
  fi
fi
have=$("${ST[@]}" --version 2>/dev/null | awk '{print $NF}')
if [[ $have != "$ST_VERSION" ]]; then
  echo "note: using schemathesis $have (this script was written against $ST_VERSION)" >&2
fi

# --- run -------------------------------------------------------------------------------------
echo "schemathesis $have -> $BASE_URL/api/v1/openapi.json (max ${MAX_TIME}s, $RATE_LIMIT, checks: $CHECKS)" >&2
set +e
(
  cd "$REPORT_DIR" # keep any .hypothesis / report droppings out of the caller's directory
  timeout -s INT -k 10 "$HARD_LIMIT" "${ST[@]}" run "$BASE_URL/api/v1/openapi.json" \
    --header "Authorization: Bearer $TOKEN" \
    --checks "$CHECKS" \
    --mode all \
    --max-examples "$MAX_EXAMPLES" \
    --max-time "$MAX_TIME" \
    --rate-limit "$RATE_LIMIT" \
    --workers "$WORKERS" \
    --request-timeout 10 \
    --continue-on-failure \
    --generation-database none \
    --no-color \
    --report junit,ndjson --report-dir "$REPORT_DIR" --report-junit-path "$JUNIT" \
    ${EXTRA[@]+"${EXTRA[@]}"}
)
rc=$?
set -e

# --- one-line summary -------------------------------------------------------------------------
counts=$(python3 - "$JUNIT" <<'PY' 2>/dev/null || true
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
cases = list(r.iter("testcase"))  # one per API operation, plus "Stateful tests"
bad = [tc.get("name") for tc in cases if tc.find("failure") is not None or tc.find("error") is not None]
n = lambda tag: sum(tc.find(tag) is not None for tc in cases)
print(len(cases), n("failure"), n("error"), "; ".join(bad))
PY
)
read -r tests failures errors bad <<<"${counts:-? ? ? }"
if [[ $rc -eq 0 && ${failures:-0} =~ ^[0-9]+$ && ${errors:-0} =~ ^[0-9]+$ && $((failures + errors)) -gt 0 ]]; then
  rc=1
fi
if [[ $rc -eq 0 ]]; then verdict=PASS; elif [[ $rc -eq 124 || $rc -eq 130 ]]; then verdict="STOPPED (hard time limit ${HARD_LIMIT}s)"
elif [[ ${tests:-0} == 0 || ${tests:-?} == "?" ]]; then verdict="ERROR (nothing tested; see the output above)"; else verdict=FAIL; fi
echo "schemathesis $have on $BASE_URL: $verdict - $tests suites (operations + stateful), $failures failed, $errors errored${bad:+ [$bad]}; exit $rc; reports in $REPORT_DIR"
exit "$rc"
