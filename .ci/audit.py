"""Audit the locked dependencies (what the image installs) with pip-audit.

Fails on any known vulnerability. Where no vulnerability service can be reached (pip-audit then
skips every package as "not found"), it says so on one line and does not pretend to have audited.
Usage: .venv/bin/python .ci/audit.py [.ci/requirements.lock]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

lock = sys.argv[1] if len(sys.argv) > 1 else ".ci/requirements.lock"
pip_audit = str(Path(sys.executable).with_name("pip-audit"))
result = subprocess.run([pip_audit, "-r", lock, "--disable-pip", "--require-hashes",
                         "--progress-spinner", "off", "--format", "json"],
                        capture_output=True, text=True, timeout=600)
try:
    report = json.loads(result.stdout)
except json.JSONDecodeError:
    print(result.stdout + result.stderr)
    sys.exit(f"audit: pip-audit failed (exit {result.returncode})")
packages = report["dependencies"]
vulnerable = [p for p in packages if p.get("vulns")]
skipped = [p for p in packages if p.get("skip_reason")]
for package in vulnerable:
    for vuln in package["vulns"]:
        fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
        print(f"audit: {package['name']} {package['version']}: {vuln['id']} (fixed in {fixes})")
audited = len(packages) - len(skipped)
if vulnerable:
    sys.exit(f"audit: {len(vulnerable)} of {len(packages)} locked packages have known vulnerabilities")
if audited == 0:
    print(f"audit: NOT AUDITED: no vulnerability service reachable from here; "
          f"{len(skipped)} locked packages unchecked ({skipped[0]['skip_reason']})")
else:
    print(f"audit: {audited} locked packages audited, 0 known vulnerabilities"
          + (f"; {len(skipped)} not found: {', '.join(p['name'] for p in skipped)}" if skipped else ""))
