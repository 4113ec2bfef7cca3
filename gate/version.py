"""The version of gate that is running, as its package metadata says: what a log record is labelled with."""

from __future__ import annotations

from importlib import metadata


def gate_version() -> str:
    try:
        return metadata.version("deployment-gate")
    except metadata.PackageNotFoundError:
        return "unknown"
