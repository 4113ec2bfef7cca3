"""The version of gate that is running, as its package metadata says: what a log record is labelled with."""

from __future__ import annotations


def gate_version() -> str:
    from importlib import metadata  # 10 ms of start-up for every command, when loaded at import

    try:
        return metadata.version("deployment-gate")
    except metadata.PackageNotFoundError:
        return "unknown"
