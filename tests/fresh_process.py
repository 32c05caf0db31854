"""A script run in a fresh Python process under the project's own settings, answering in JSON.

For what only a new process shows: settings read from the environment at
start-up (the embedded default, production URLs) and the broker as the app's
processes use it. The script prints one JSON object as its last line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings


def json_from_fresh_process(
    script: str, *, var_dir: Path, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Run ``script`` under pmaas.settings, DEBUG on, ``var_dir`` its var folder; its last line, parsed."""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DJANGO_SETTINGS_MODULE": "pmaas.settings",
            "DEBUG": "true",
            "PMAAS_VAR_DIR": str(var_dir),
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))
