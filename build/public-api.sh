#!/usr/bin/env bash
# Writes each shipped project's public API changes into its PublicAPI.Unshipped.txt: members the
# build reports as undeclared (RS0016) are added, declared members that no longer exist (RS0017)
# are removed. Run it after a deliberate change of public API and review the diff; the build
# fails on any change that is not written down. When a version ships, move Unshipped into Shipped.
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Warnings, not errors, so that one build reports every project's changes.
dotnet build SourceGen.sln -p:TreatWarningsAsErrors=false -p:WarningsAsErrors= -v:quiet -clp:NoSummary >"$log" 2>&1 || true

python3 - "$log" <<'PY'
import collections, os, re, sys
pattern = re.compile(r"warning (RS001[67]): Symbol '(.+?)' is (?:not part of the declared public API|part of the declared API, but is either not public or could not be found).*\[(.+?\.csproj)")
changes = collections.defaultdict(lambda: (set(), set()))
for line in open(sys.argv[1], encoding="utf-8"):
    m = pattern.search(line)
    if m:
        code, symbol, project = m.groups()
        changes[os.path.dirname(project)][0 if code == "RS0016" else 1].add(symbol)
for folder, (added, removed) in sorted(changes.items()):
    path = os.path.join(folder, "PublicAPI.Unshipped.txt")
    shipped_path = os.path.join(folder, "PublicAPI.Shipped.txt")
    lines = [l.rstrip("\n") for l in open(path, encoding="utf-8")] if os.path.exists(path) else ["#nullable enable"]
    header = [l for l in lines if l.startswith("#")] or ["#nullable enable"]
    body = {l for l in lines if l and not l.startswith("#")} | added
    body -= removed
    # A removed member that had shipped is recorded as *REMOVED* in Unshipped, as the analyzer's fixer does.
    shipped = {l.rstrip("\n") for l in open(shipped_path, encoding="utf-8")} if os.path.exists(shipped_path) else set()
    body |= {"*REMOVED*" + s for s in removed if s in shipped}
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(header + sorted(body)) + "\n")
    print(f"{path}: +{len(added)} -{len(removed)}")
PY
# Anything else the build reported as an error is the code's, not the API files': show it.
if grep -E ": error " "$log" | sort -u | head -20 | grep .; then
  echo "public-api.sh: the build has errors (above); the API files may be incomplete until they are fixed"
  exit 1
fi
