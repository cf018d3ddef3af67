"""A thin wrapper around the podman command line, with errors an operator can act on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from voipctl.errors import LabError


class Podman:
    """Runs podman with the lab's containers.conf (runc, lowered ulimits)."""

    def __init__(self, containers_conf: Path | None = None, executable: str = "podman"):
        path = shutil.which(executable)
        if path is None:
            raise LabError(
                "podman is not installed",
                hint="run `make bootstrap` (apt-get install podman runc debootstrap) as root",
            )
        self.executable = path
        self.env = dict(os.environ)
        if containers_conf is not None:
            self.env["CONTAINERS_CONF"] = str(containers_conf)

    def run(
        self,
        args: Sequence[str],
        *,
        check: bool = True,
        input_bytes: bytes | None = None,
        what: str | None = None,
        log: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``podman ARGS``; on failure raise LabError naming ``what`` and podman's message.

        With ``log`` the output goes to that file (long builds) and the error
        quotes its last lines.
        """
        cmd = [self.executable, *args]
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("w") as fh:
                proc = subprocess.run(
                    cmd, env=self.env, stdout=fh, stderr=subprocess.STDOUT, text=True, check=False
                )
            output = log.read_text(errors="replace")
            result = subprocess.CompletedProcess(cmd, proc.returncode, output, "")
        elif input_bytes is not None:
            raw = subprocess.run(cmd, env=self.env, input=input_bytes, capture_output=True, check=False)
            result = subprocess.CompletedProcess(
                cmd, raw.returncode, raw.stdout.decode(errors="replace"), raw.stderr.decode(errors="replace")
            )
        else:
            result = subprocess.run(cmd, env=self.env, capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout or "").strip().splitlines()[-8:]
            where = f" (full log: {log})" if log else ""
            raise LabError(
                f"{what or 'podman ' + ' '.join(args[:2])} failed{where}:\n    " + "\n    ".join(detail)
            )
        return result

    def json(self, args: Sequence[str], *, what: str | None = None) -> Any:
        out = self.run(args, what=what).stdout.strip()
        return json.loads(out) if out else []

    # -- queries -----------------------------------------------------------

    def image_labels(self, ref: str) -> dict[str, str] | None:
        """Labels of image ``ref``, or None when it does not exist."""
        result = self.run(["image", "inspect", ref], check=False)
        if result.returncode != 0:
            return None
        data = json.loads(result.stdout)
        return (data[0].get("Labels") or {}) if data else None

    def image_id(self, ref: str) -> str | None:
        result = self.run(["image", "inspect", "--format", "{{.Id}}", ref], check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    def containers(self, label: str) -> list[dict[str, Any]]:
        """All containers (running or not) carrying ``label``."""
        return self.json(["ps", "-a", "--format", "json", "--filter", f"label={label}"])

    def network(self, name: str) -> dict[str, Any] | None:
        result = self.run(["network", "inspect", name], check=False)
        if result.returncode != 0:
            return None
        data = json.loads(result.stdout)
        return data[0] if data else None

    def networks(self) -> list[dict[str, Any]]:
        return self.json(["network", "ls", "--format", "json"])
