"""1,000 decisions against the OPA engine: one persistent HTTP session against one connection per request.

A real `opa run --server` on 127.0.0.1 holds the shipped policies and threshold, once over plain HTTP and
once over TLS (a throwaway self-signed certificate), where a connection costs a handshake. The input is
the ready example's, as gate builds it. Each decision is a full OpaEngine.evaluate (input normalised and
encoded, POST /v1/data/gate through opa-python-client, answer and canary checked), `--opa-preloaded`
style: the server holds the bundle `gate bundle build` writes. The modes alternate in blocks of 100 so they
see the same machine.

    python benchmarks/opa_throughput.py [--decisions 1000]
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
NOW = "2026-11-26T12:00:00Z"
PUSHED = "http, pushed, answer checked"


def ready_input():
    from gate import plugins, runner
    from gate.evaluate import build_input

    args = argparse.Namespace(config=REPO / "examples" / "claims-triage" / "ready" / "gate.yaml",
                              profile=None, version=None, commit=None, now=NOW)
    config = runner.load(args)
    context = runner.make_context(config, args, environ={})
    prepared = runner.prepare(config, plugins.get_manager())
    evidence, skipped = runner.gather(config, context)
    return prepared, {"threshold": prepared.threshold.data}, build_input(context, config.service, evidence,
                                                                         skipped)


def self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True).sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def serve(opa_bin: str, load: list[str], tls: tuple[Path, Path] | None) -> tuple[subprocess.Popen, str]:
    from gate.engine.opa import OpaServer, free_port

    port = free_port()
    command = [opa_bin, "run", "--server", "--addr", f"127.0.0.1:{port}", "--skip-version-check",
               "--log-level", "error"]
    if tls:
        command += ["--tls-cert-file", str(tls[0]), "--tls-private-key-file", str(tls[1])]
    process = subprocess.Popen([*command, *load], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    probe = OpaServer(url, ca_cert=str(tls[0]) if tls else None)
    deadline = time.monotonic() + 30
    while not probe.health():
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise SystemExit(f"opa did not start: {probe.last_health}")
        time.sleep(0.02)
    probe.close()
    return process, url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=1000)
    parser.add_argument("--block", type=int, default=100, help="decisions per alternating block")
    args = parser.parse_args()
    from gate.commands.bundle import bundle_files, write_bundle
    from gate.engine.opa import OpaEngine, OpaServer, PreloadedOpaEngine, find_opa

    opa_bin = find_opa()
    if opa_bin is None:
        print("needs the opa binary: set OPA_BIN or put opa on PATH", file=sys.stderr)
        return 2
    prepared, data, doc = ready_input()
    policies = prepared.policies
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bundle = root / "bundle.tar.gz"
        write_bundle(bundle_files(prepared, revision="benchmark"), bundle)
        cert, key = self_signed(root)
        (root / "empty").mkdir()
        servers = [serve(opa_bin, ["-b", str(bundle)], None),
                   serve(opa_bin, ["-b", str(bundle)], (cert, key)),
                   serve(opa_bin, [str(root / "empty")], None)]
        try:
            engines = {}
            for (_, url), scheme in zip(servers, ("http", "https")):
                ca = str(cert) if scheme == "https" else None
                for persistent, label in ((True, "persistent session"), (False, "connection per request")):
                    engines[f"{scheme}, {label}"] = PreloadedOpaEngine(OpaServer(url, ca_cert=ca,
                                                                                 persistent=persistent))
            # gate pushes its policies (marked) and threshold once, then every answer is checked to be the
            # evaluation of what it pushed: the cost of that check against the preloaded query above
            engines[PUSHED] = OpaEngine(OpaServer(servers[2][1], persistent=True))
            for engine in engines.values():
                engine.evaluate(doc, policies, data)  # warm up: OPA caches the prepared query
            latencies: dict[str, list[float]] = {name: [] for name in engines}
            elapsed = dict.fromkeys(engines, 0.0)
            for start in range(0, args.decisions, args.block):
                for name, engine in engines.items():
                    block_start = time.perf_counter()
                    for _ in range(min(args.block, args.decisions - start)):
                        t = time.perf_counter()
                        engine.evaluate(doc, policies, data)
                        latencies[name].append(time.perf_counter() - t)
                    elapsed[name] += time.perf_counter() - block_start
            for engine in engines.values():
                engine.close()
        finally:
            for process, _ in servers:
                process.kill()
                process.wait()
    print(f"{args.decisions} decisions per mode against opa run --server on 127.0.0.1 ({os.cpu_count()} "
          "cores,"
          f" load average {os.getloadavg()[0]:.1f}); ready example input"
          f" ({sum(len(v) for v in doc['evidence'].values())} evidence items)\n")
    print(f"{'mode':<36}{'decisions/s':>13}{'median ms':>11}{'p95 ms':>9}{'total s':>9}")
    for name in engines:
        lat = sorted(latencies[name])
        p95 = lat[int(len(lat) * 0.95) - 1]
        print(
            f"{name:<36}{len(lat) / elapsed[name]:>13.0f}{statistics.median(lat) * 1000:>11.2f}"
            f"{p95 * 1000:>9.2f}"
            f"{elapsed[name]:>9.2f}"
        )
    for scheme in ("http", "https"):
        ratio = elapsed[f"{scheme}, connection per request"] / elapsed[f"{scheme}, persistent session"]
        print(f"{scheme}: a persistent session gives {ratio:.2f}x the throughput of a connection per request")
    ratio = elapsed[PUSHED] / elapsed["http, persistent session"]
    print(f"pushed and checked: {ratio:.2f}x the time of the preloaded query (http, persistent session)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
