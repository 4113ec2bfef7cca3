"""``store: git-branch``: the decision log on a dedicated branch of the repository, pushed to a remote.

The audit trail outlives the CI runner. Each append: fetch the branch, read the log file at its tip,
seal the record after the last one, commit (one commit per record, the record's number and hash in
the message), push without force. A push refused as non-fast-forward (another run pushed first) is
retried on the new tip: the record is sealed again after the other run's records. Any other refusal
(no permission, a protected branch, a hook) is an AuditError with git's reason: never a silent loss.

Only git plumbing is used, in the repository's object database with a temporary index: the working
tree, the index and the checked-out branch are never touched. Processes sharing one clone take an
fcntl lock; processes on different clones (different runners) meet at the remote, where git's
compare-and-swap on the branch decides who is first.

A force-pushed rewrite is caught three ways: the chain itself (an edit that was not re-sealed); the
branch history (every commit must be gate's, and the record it names must still be in the log); and
the witness, the last tip this clone pushed or verified (kept in .git/gate/), which must remain an
ancestor of the branch and whose records must be unchanged. On a fresh runner without a witness,
`gate log verify --expect SEQ:HASH` takes the anchor from elsewhere (a previous job summary).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gate.archive import blob_path, digest_of
from gate.chain import Head, Problem, Verification, last_complete, seal, split_lines, verify_lines
from gate.errors import AuditError, GateError
from gate.fsutil import exclusive, write_atomically
from gate.secrets import display_url, mask

DEFAULT_BRANCH = "gate-decisions"
DEFAULT_FILE = "decisions.jsonl"
MAX_ATTEMPTS = 50
GIT_TIMEOUT_S = 120


class GitError(AuditError):
    pass


# how a host says the credentials may read but not write: GitHub ("Permission to o/r.git denied to
# github-actions[bot]", then HTTP 403), GitLab and others ("You are not allowed to push", "403")
_NO_WRITE = ("permission to", "returned error: 403", "not allowed to push",
             "write access to repository not granted")


def _missing_permission(said: str) -> str:
    """What to grant, when a refused push reads as missing write access."""
    text = said.lower()
    if not any(sign in text for sign in _NO_WRITE):
        return ""
    if os.environ.get("GITHUB_ACTIONS") == "true":
        return ("; the workflow's token lacks contents: write (grant `permissions: contents: write` to the "
                "job"
                " that runs gate)")
    return "; the git credentials in use may not push to this repository"


class GitBranchStore:
    name = "git-branch"

    def __init__(self, repo: Path, remote: str = "origin", branch: str = DEFAULT_BRANCH,
                 file: str = DEFAULT_FILE, max_attempts: int = MAX_ATTEMPTS) -> None:
        self.repo = repo
        self.remote = remote
        self.branch = branch
        self.file = file
        self.max_attempts = max_attempts
        self.tracking = f"refs/gate/{remote}/{branch}"
        self.where = f"branch {branch} of {display_url(remote)} ({file})"
        self._git_dir: Path | None = None
        self._identity: list[str] | None = None
        self.retries = 0  # pushes overtaken by another writer and redone on the new tip

    @classmethod
    def from_config(cls, config: Any, options: Mapping[str, Any]) -> GitBranchStore:
        from gate.stores import local_path

        repo = local_path(config, str(options["repo"]), "repo") if options.get("repo") else config.root
        return cls(repo, str(options.get("remote") or "origin"), str(options.get("branch") or DEFAULT_BRANCH),
                   str(options.get("file") or DEFAULT_FILE), int(options.get("max_attempts") or MAX_ATTEMPTS))

    # --- git ---------------------------------------------------------------------------------------

    def git(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
        try:
            done = subprocess.run(["git", "-C", str(self.repo), *self.identity(args), *args], input=input,
                                  capture_output=True, timeout=GIT_TIMEOUT_S, check=False,
                                  env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})})
        except FileNotFoundError:
            raise GitError("the git-branch store needs git on PATH") from None
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} did not finish within {GIT_TIMEOUT_S} s") from None
        if check and done.returncode != 0:
            raise GitError(f"git {args[0]} failed: {self._stderr(done)}")
        return done

    def identity(self, args: tuple[str, ...]) -> list[str]:
        """Commits are gate's when the repository names no one (a fresh CI runner)."""
        if not args or args[0] != "commit-tree":
            return []
        if self._identity is None:
            self._identity = []
            for key, default in (("user.name", "gate"), ("user.email", "gate@localhost")):
                got = self.git("config", "--get", key, check=False).stdout.decode().strip()
                if not got:
                    self._identity += ["-c", f"{key}={default}"]
        return self._identity

    @staticmethod
    def _stderr(done: subprocess.CompletedProcess) -> str:
        text = (done.stderr or b"").decode("utf-8", "replace").strip()
        lines = [line for line in text.splitlines() if line.strip() and not line.startswith("hint:")]
        return mask(" | ".join(lines[-3:]) or f"exit {done.returncode}")

    def git_dir(self) -> Path:
        if self._git_dir is None:
            done = self.git("rev-parse", "--absolute-git-dir", check=False)
            if done.returncode != 0:
                raise GitError(f"{self.repo} is not a git repository: the git-branch store keeps the decision"
                               " log on a branch of the repository gate.yaml is in")
            self._git_dir = Path(done.stdout.decode().strip())
        return self._git_dir

    def fetch(self) -> str | None:
        """The remote branch's tip (fetched into a private ref), or None when it does not exist yet."""
        done = self.git("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", self.remote,
                        f"+refs/heads/{self.branch}:{self.tracking}", check=False)
        if done.returncode != 0:
            reason = self._stderr(done)
            if "couldn't find remote ref" in reason or "could not find remote ref" in reason:
                self.git("update-ref", "-d", self.tracking, check=False)
                return None
            raise GitError(f"cannot fetch {self.branch} from {display_url(self.remote)}: {reason}")
        return self.git("rev-parse", "--verify", "--quiet", self.tracking).stdout.decode().strip()

    def read_at(self, commit: str | None) -> bytes:
        if commit is None:
            return b""
        done = self.git("cat-file", "blob", f"{commit}:{self.file}", check=False)
        return done.stdout if done.returncode == 0 else b""

    def _commit(self, parent: str | None, content: bytes, blobs: Mapping[str, bytes] | None,
                message: str) -> str:
        entries = [(self.file,
                    self.git("hash-object", "-w", "--stdin", input=content).stdout.decode().strip())]
        for digest, data in (blobs or {}).items():
            oid = self.git("hash-object", "-w", "--stdin", input=data).stdout.decode().strip()
            entries.append((f"archive/{blob_path(digest)}", oid))
        fd, index = tempfile.mkstemp(prefix="gate-index-", dir=self.git_dir())
        os.close(fd)
        os.unlink(index)
        env = {"GIT_INDEX_FILE": index}
        try:
            if parent:
                self.git("read-tree", parent, env=env)
            else:
                self.git("read-tree", "--empty", env=env)
            info = "".join(f"100644 {oid}\t{path}\n" for path, oid in entries).encode()
            self.git("update-index", "--add", "--index-info", input=info, env=env)
            tree = self.git("write-tree", env=env).stdout.decode().strip()
        finally:
            if os.path.exists(index):
                os.unlink(index)
        parents = ["-p", parent] if parent else []
        return self.git("commit-tree", tree, *parents, "-m", message).stdout.decode().strip()

    def push(self, commit: str) -> bool:
        """True when pushed; False when refused as non-fast-forward (retry); GitError on any other refusal."""
        done = self.git("push", "--porcelain", "--quiet", self.remote, f"{commit}:refs/heads/{self.branch}",
                        check=False)
        if done.returncode == 0:
            return True
        out = done.stdout.decode("utf-8", "replace")
        status = next((line for line in out.splitlines() if line.startswith("!")), "")
        if "[rejected]" in status and ("fetch first" in status or "non-fast-forward" in status):
            return False
        # two pushes landing at once: the remote's ref lock or compare-and-swap refused the loser
        raced = ("failed to update ref", "cannot lock ref", "incorrect old value", "reference already exists")
        if "[remote rejected]" in status and any(r in status + self._stderr(done) for r in raced):
            return False
        why = status.split("\t")[-1] if status else ""
        said = f"push to {display_url(self.remote)} refused: {mask(why)} {self._stderr(done)}".replace(
            "  ", " "
        ).strip()
        raise GitError(said + _missing_permission(out + (done.stderr or b"").decode("utf-8", "replace")))

    # --- witness: the last tip this clone pushed or verified ----------------------------------------

    @property
    def witness_path(self) -> Path:
        return self.git_dir() / "gate" / "witness" / self.remote / f"{self.branch}.json"

    def read_witness(self) -> dict[str, Any] | None:
        try:
            doc = json.loads(self.witness_path.read_text())
            return doc if isinstance(doc, dict) and {"commit", "seq", "hash"} <= doc.keys() else None
        except (FileNotFoundError, ValueError):
            return None

    def write_witness(self, commit: str, head: Head) -> None:
        self.witness_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.witness_path, json.dumps({"commit": commit, **head.to_dict()}).encode())

    def witness_problems(self, tip: str | None, content: bytes) -> list[Problem]:
        """What a rewrite of the branch since this clone last saw it would leave behind."""
        witness = self.read_witness()
        if witness is None:
            return []
        seen, seq = witness["commit"], int(witness["seq"])
        if tip is None:
            return [Problem(None,
                            f"branch {self.branch} is gone from {display_url(self.remote)}, though this "
                            "clone saw it at"
                                  f" record {seq} (commit {seen[:12]}): deleted")]
        if tip == seen:
            return []
        ancestor = self.git("merge-base", "--is-ancestor", seen, tip, check=False).returncode
        if ancestor == 0:
            return []
        old = self.read_at(seen) if ancestor == 1 else b""
        first = first_difference(old, content) if old else None
        where = f"record {first} and after differ" if first else (f"record {seq} (hash {witness['hash']}) is "
                                                                  "gone")
        return [Problem(first or seq,
                        f"branch {self.branch} was rewritten (force-pushed): commit {seen[:12]}, which"
                                      f" this clone saw with {seq} records, is no longer in its history; "
                                      f"{where}")]

    # --- the store ---------------------------------------------------------------------------------

    def append(self, record: Mapping[str, Any], blobs: Mapping[str, bytes] | None = None) -> dict[str, Any]:
        with exclusive(self.git_dir() / "gate" / f"{self.remote}-{self.branch}.lock", what=self.where):
            for attempt in range(1, self.max_attempts + 1):
                tip = self.fetch()
                content = self.read_at(tip)
                rewritten = self.witness_problems(tip, content)
                if rewritten:
                    raise AuditError(f"{rewritten[0]}; no record is added until `gate log verify` is clean")
                head = self.verified_head(tip, content)
                line, sealed = seal(record, head)
                labels = sealed.get("labels") or {}
                outcome = (sealed.get("result") or {}).get("outcome")
                message = (f"gate: record {sealed['seq']} {labels.get('service', '')} {outcome}\n\n"
                           f"decision {sealed.get('decision_id')}\nrecord-hash {sealed['hash']}\n")
                commit = self._commit(tip, content + line, blobs, message)
                if self.push(commit):
                    self.git("update-ref", self.tracking, commit, check=False)
                    self.write_witness(commit, Head(sealed["seq"], sealed["hash"]))
                    return sealed
                self.retries += 1
                time.sleep(random.uniform(0, 0.02) * min(attempt, 5))  # short: a long wait only loses again
        raise AuditError(f"{self.where}: {self.max_attempts} pushes in a row were overtaken by other writers")

    def verified_head(self, tip: str | None, content: bytes) -> Head:
        """The head to chain after, once the branch's log is shown to hold only gate's records, unedited.

        The chain from the witness (the tip this clone last pushed, whose content git's hashes fix):
        the log at the tip must start with the log at the witness byte for byte, and only the
        records after it are verified, with the commits that added them. Without a witness (a fresh
        clone), every record and commit. Any edit, deletion or foreign commit refuses the append.
        """
        witness = self.read_witness()
        lines, torn = split_lines(content)
        start, first, base = Head.empty(), 1, None
        if witness is not None and tip is not None and tip != witness["commit"]:
            old = self.read_at(witness["commit"])
            if content.startswith(old):
                start, first, base = Head(int(witness["seq"]),
                                          str(witness["hash"])), old.count(b"\n") + 1, witness["commit"]
        elif witness is not None and tip == witness["commit"]:
            return last_complete(content)[0]  # the very commit this clone pushed or verified
        check = verify_lines(lines[first - 1:], torn, None, keep=False, start=start, first_line=first)
        problems = check.problems
        if tip is not None:
            records = [json.loads(line) for line in lines[first - 1:] if _is_json(line)]
            problems = problems + self.history_problems(tip, records, since=base)
        if problems:
            raise AuditError(f"{self.where}: "
                             f"{min(problems, key=lambda p: (p.record is None, p.record or 0))}; no record is"
                             " appended to a log that does not verify: run `gate log verify`")
        return check.head

    def verify(self, keep: bool = True) -> Verification:
        tip = self.fetch()
        content = self.read_at(tip)
        lines, torn = split_lines(content)
        result = verify_lines(lines, torn, None, keep=True)
        result.problems.extend(self.witness_problems(tip, content))
        if tip is not None:
            result.problems.extend(self.history_problems(tip, result.records))
        elif not result.problems:
            result.warnings.append(f"no decisions recorded yet on {self.where}")
        result.problems.sort(key=lambda p: p.record or 0)
        if result.ok and tip is not None:
            self.write_witness(tip, result.head)
        if not keep:
            result.records = []
        return result

    def history_problems(self, tip: str, records: list[dict[str, Any]],
                         since: str | None = None) -> list[Problem]:
        """Every commit on the branch (after ``since``) is gate's, and the record it added is still the one in
        the log."""
        span = f"{since}..{tip}" if since else tip
        out = self.git("log", "--first-parent", "--format=%H%x1f%B%x1e", span).stdout.decode("utf-8",
                                                                                             "replace")
        by_seq = {r.get("seq"): r.get("hash") for r in records}
        problems = []
        for entry in filter(None, (e.strip() for e in out.split("\x1e"))):
            commit, _, body = entry.partition("\x1f")
            fields = dict(line.split(" ", 1) for line in body.splitlines()[1:] if " " in line)
            subject = body.splitlines()[0] if body else ""
            words = subject.split()
            if (
                len(words) < 3
                or words[:2] != ["gate:", "record"]
                or not words[2].isdigit()
                or "record-hash" not in fields
            ):
                problems.append(Problem(None, f"commit {commit[:12]} on {self.branch} was not written by gate"
                                              f" ({subject[:60]!r}): the log branch takes gate's "
                                              "records only"))
                continue
            seq = int(words[2])
            if by_seq.get(seq) != fields["record-hash"].strip():
                what = "is missing" if seq not in by_seq else "differs"
                problems.append(Problem(seq, f"commit {commit[:12]} added record {seq} with hash"
                                             f" {fields['record-hash'].strip()[:19]}…, but that record "
                                             f"{what} in the"
                                             " log now: history was rewritten"))
        return problems

    def archive(self) -> GitArchive:
        return GitArchive(self)


class GitArchive:
    """The evidence archive kept in the log branch's tree, under archive/sha256/…"""

    def __init__(self, store: GitBranchStore) -> None:
        self.store = store

    def get(self, digest: str) -> bytes:
        tip = self.store.git("rev-parse", "--verify", "--quiet", self.store.tracking,
                             check=False).stdout.decode().strip()
        done = self.store.git("cat-file", "blob", f"{tip}:archive/{blob_path(digest)}",
                              check=False) if tip else None
        if done is None or done.returncode != 0:
            raise GateError(f"{self.store.where}: no archived blob {digest}")
        if digest_of(done.stdout) != digest:
            raise GateError(f"{self.store.where}: archived blob {digest} was altered")
        return done.stdout


def _is_json(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def first_difference(old: bytes, new: bytes) -> int | None:
    """The number of the first record of ``old`` that ``new`` no longer holds unchanged."""
    old_lines, new_lines = split_lines(old)[0], split_lines(new)[0]
    for number, line in enumerate(old_lines, 1):
        if number > len(new_lines) or new_lines[number - 1] != line:
            return number
    return None
