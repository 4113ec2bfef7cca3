"""What `gate verify` costs at deploy time, against `cosign verify-blob-attestation` on the same files.

The ready example is evaluated once with `gate evaluate --sign` (an ECDSA P-256 key, so that cosign reads
the same key) for a 50 MB artifact; then, alternating so that both see the same machine, whole processes:

- `gate verify --policy-digest ...`: signature, subject (the artifact hashed), result, policy, age,
  service and profile;
- `gate verify --config gate.yaml`: the same, with the expected policy digest computed from the
  threshold and policies (what the scaffolded deploy job does);
- `cosign verify-blob-attestation --key --type --insecure-ignore-tlog`: signature, subject (the artifact
  hashed) and predicate type;
- `sha256sum` of the artifact: the floor both pay to hash it.

Medians over --runs; ratios against cosign. Needs cosign (COSIGN_BIN or on PATH; .ci/run builds it).

    python benchmarks/verify.py [--runs 15] [--artifact-mb 50]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "claims-triage" / "ready" / "gate.yaml"
NOW = "2026-11-26T12:00:00Z"


def gate(*args: str) -> list[str]:
    return [sys.executable, "-m", "gate", *args]


def make_key(folder: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private, public = folder / "gate.key", folder / "gate.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--artifact-mb", type=int, default=50)
    args = parser.parse_args()
    cosign = os.environ.get("COSIGN_BIN") or shutil.which("cosign")
    if not cosign:
        print("needs cosign: set COSIGN_BIN or put cosign on PATH (.ci/run builds it)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        example = work / "ready"
        shutil.copytree(EXAMPLE.parent, example, ignore=shutil.ignore_patterns(".gate"))
        config = example / "gate.yaml"
        private, public = make_key(work)
        artifact = work / "release.tar.gz"
        artifact.write_bytes(os.urandom(args.artifact_mb * 1024 * 1024))
        attestation = work / "decision.intoto.json"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")]),
               "HOME": str(work), "TUF_ROOT": str(work / "tuf")}
        timed(gate("evaluate", "-c", str(config), "--now", NOW, "--engine", "embedded", "-f", "json",
                   "-o", str(work / "decision.json"), "--sign", str(private), "--subject", str(artifact),
                   "--attestation-output", str(attestation)), env, work)
        predicate = json.loads(base64.b64decode(json.loads(attestation.read_text())["payload"]))
        digest = "sha256:" + predicate["predicate"]["policy"]["digest"]["sha256"]
        common = ["verify", "--artifact", str(artifact), "--attestation", str(attestation), "--key",
                  str(public)]
        commands = {
            "gate verify --policy-digest": gate(*common, "--policy-digest", digest, "--service",
                                                "claims-triage", "--profile", "production"),
            "gate verify --config": gate(*common, "--config", str(config)),
            "cosign verify-blob-attestation": [cosign, "verify-blob-attestation", "--key", str(public),
                                               "--type", "https://slsa.dev/verification_summary/v1",
                                               "--insecure-ignore-tlog",
                                               "--signature", str(attestation), str(artifact)],
            "sha256sum (hashing floor)": ["sha256sum", str(artifact)],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        names = list(commands)
        for run in range(args.runs):
            for name in names[run % len(names):] + names[:run % len(names)]:
                times[name].append(timed(commands[name], env, work))
    base = statistics.median(times["cosign verify-blob-attestation"])
    print(f"one verification of a {args.artifact_mb} MB artifact, whole processes, median of {args.runs} runs"
          f" ({os.cpu_count()} cpus):")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:34s} {median * 1000:8.1f} ms   (min {min(values) * 1000:7.1f})   "
              f"x{median / base:.2f} of cosign")
    return 0


if __name__ == "__main__":
    sys.exit(main())
