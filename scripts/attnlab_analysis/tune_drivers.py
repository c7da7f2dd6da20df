"""Several `attnlab tune` drivers on one study (docs/tune.md, "Several processes"): who runs a trial,
whether that driver still lives, the locks between drivers, and trials that die with their driver.

Every driver has an owner identity (host, pid, the pid's start time) that it records on each trial it
asks (user attribute `driver`), and a heartbeat: <dir>/drivers/<owner>.alive, touched every
HEARTBEAT_SECONDS by a daemon thread and removed when the driver ends. A RUNNING trial's driver is
dead when
  - it ran where pids mean what they mean here (same kernel boot, same pid namespace) and its pid
    is gone, a zombie, or a newer process with another start time; or
  - it ran elsewhere and its heartbeat file is missing or STALE_SECONDS older than ours. Both times
    are the file server's (the mtimes of two files), so the machines' clocks need not agree.
Optuna 3.1 has a heartbeat (failed_trial_callback, `heartbeat_interval`) only for RDBStorage and only
inside study.optimize(); the journal storage has none, hence this one.

Locks are flock()s on files under <dir>/drivers and <dir>/trials/<key>/.lock, with a thread lock in
front (on NFS, Linux emulates flock with POSIX locks, which belong to a process, not to a thread).
A lock dies with its process: a killed driver never leaves one behind. (Optuna's own journal lock is
a symlink, which a driver killed while appending would leave behind for ever; the driver gives the
journal a flock instead.)"""
import ctypes
import fcntl
import json
import os
import signal
import socket
import sys
import time
import threading

HEARTBEAT_SECONDS = 2.0  # a driver touches its <owner>.alive this often
STALE_SECONDS = 60.0  # ... and a driver on another machine is dead once its file is this much older than ours
OWNER_ATTR = "driver"  # the trial's user attribute naming the driver that asked it
PLAN_ATTR = "plan"  # the study's user attribute: what every driver joining it must agree on
PLAN_KEYS = ("spec", "hash", "space", "metric", "direction", "sampler")
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _read(path: str):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def process_start(pid: int):
    """The process's start time in clock ticks after boot (/proc/<pid>/stat, field 22), or None when
    no such process runs (a zombie counts as ended). On systems without /proc: 0 while it exists."""
    if not os.path.exists("/proc/self/stat"):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return 0
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    fields = text.rsplit(")", 1)[1].split()  # after "pid (comm)": field 3 (state) onwards
    return None if fields[0] in ("Z", "X") else int(fields[19])


def _machine() -> str:
    """Where a pid names one process: this kernel's boot and this pid namespace."""
    boot = _read("/proc/sys/kernel/random/boot_id")
    try:
        ns = os.readlink("/proc/self/ns/pid")
    except OSError:
        ns = None
    return f"{boot}/{ns}" if boot and ns else socket.gethostname()


class Owner:
    """This driver process: the identity its trials carry."""

    def __init__(self):
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.start = process_start(self.pid) or 0
        self.machine = _machine()
        self.id = f"{self.host}-{self.pid}-{self.start}"

    def attr(self) -> dict:
        return {"id": self.id, "host": self.host, "pid": self.pid, "start": self.start, "machine": self.machine}


class FileLock:
    """Exclusive between the threads of this process and between processes, here or on other machines
    sharing the file system: a thread lock, then flock() on `path`. While held, `fd` is the locked
    descriptor; a child given it (pass_fds) holds the lock with it until it exits too."""

    def __init__(self, path: str):
        self.path = path
        self.fd = None
        self._thread_lock = threading.Lock()

    def __enter__(self):
        self._thread_lock.acquire()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
        except BaseException:
            self._thread_lock.release()
            raise
        self.fd = fd
        return self

    def __exit__(self, *exc):
        fd, self.fd = self.fd, None
        os.close(fd)
        self._thread_lock.release()

    # The interface of Optuna's JournalFileBaseLock (JournalFileStorage(path, lock_obj=...)).
    def acquire(self) -> bool:
        self.__enter__()
        return True

    def release(self) -> None:
        self.__exit__(None, None, None)


class Heartbeat:
    """<dir>/drivers/<owner>.alive (the owner's identity as JSON), touched every HEARTBEAT_SECONDS by a
    daemon thread until close() removes it."""

    def __init__(self, dir_: str, owner: Owner):
        self.dir = os.path.join(dir_, "drivers")
        os.makedirs(self.dir, exist_ok=True)
        self.owner = owner
        self.path = self.file_of(owner.id)
        self._write()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
        self._thread.start()

    def file_of(self, owner_id: str) -> str:
        return os.path.join(self.dir, owner_id + ".alive")

    def _write(self):
        temp = f"{self.path}.tmp"
        with open(temp, "w") as f:
            json.dump(self.owner.attr(), f)
        os.replace(temp, self.path)

    def _beat(self):
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                os.utime(self.path)
            except FileNotFoundError:  # removed by hand: written again
                self._write()
            except OSError:
                pass  # the file system hiccups; the next beat tries again

    def now(self) -> float:
        """The file system's clock: our own file's mtime, touched now."""
        try:
            os.utime(self.path)
        except FileNotFoundError:
            self._write()
        return os.stat(self.path).st_mtime

    def age(self, owner_id: str, now: float):
        """Seconds since the owner's file was touched (by now()'s clock), or None without a file. The
        file is opened before its attributes are read: NFS revalidates them on open."""
        try:
            fd = os.open(self.file_of(owner_id), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            return now - os.fstat(fd).st_mtime
        finally:
            os.close(fd)

    def alive(self, owner, now: float) -> bool:
        """Whether the driver a trial names (its OWNER_ATTR, or None) still lives."""
        if not isinstance(owner, dict) or "id" not in owner:
            return False  # no driver recorded: its driver died between asking and recording (or predates owners)
        if owner["id"] == self.owner.id:
            return True
        if owner.get("machine") == self.owner.machine:
            return process_start(int(owner["pid"])) == owner.get("start")
        age = self.age(owner["id"], now)
        return age is not None and age < STALE_SECONDS

    def close(self):
        self._stop.set()
        self._thread.join()
        try:
            os.remove(self.path)
        except OSError:
            pass


def owner_alive(study_dir: str, owner) -> bool:
    """For readers of a study (summarize, report), who beat no heart of their own: whether the driver
    a RUNNING trial names still lives. On this machine by its pid and start time; elsewhere by the age
    of its .alive file on this machine's clock (a reader's verdict, never used to requeue)."""
    if not isinstance(owner, dict) or "id" not in owner:
        return False
    if owner.get("machine") == _machine():
        return process_start(int(owner["pid"])) == owner.get("start")
    try:
        st = os.stat(os.path.join(study_dir, "drivers", owner["id"] + ".alive"))
    except OSError:
        return False
    return time.time() - st.st_mtime < STALE_SECONDS


def child_setup():
    """A preexec_fn for the trials' `attnlab run`: SIGTERM when the driver's forking thread ends
    (PR_SET_PDEATHSIG), which attnlab takes as it takes Ctrl-C: it stops at the next batch boundary and
    keeps its checkpoint. Linux sends it when the *thread* that forked ends, not the process: the
    driver forks from worker threads, each of which waits for its child before it does anything else,
    so the thread ends before its child only when the driver process dies (or an exception ends the
    worker, when stopping the child is right too). If the driver died before prctl() (the child then
    has another parent), the child leaves at once. None off Linux (orphans then run to their end)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    driver = os.getpid()
    sig = int(signal.SIGTERM)

    def setup():  # runs in the child between fork and exec: nothing here may take a lock
        prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != driver:
            os._exit(1)

    return setup


def plan_identity(plan: dict) -> dict:
    """What drivers of one study must agree on: the spec and the config its trials start from, the
    space, the objective and the sampler (not n_trials, jobs, threads, seeds or flags)."""
    return json.loads(json.dumps({k: plan.get(k) for k in PLAN_KEYS}, sort_keys=True))


def _distribution(d) -> str:
    if not isinstance(d, dict):
        return "absent"
    if d.get("kind") == "choice":
        return f"choice {list(d.get('values', []))}"
    return f"{d.get('kind')} [{d.get('low')}, {d.get('high')}]"


def plan_differences(study: dict, this: dict) -> list:
    """Each thing the study's plan and this one disagree on, as 'what: the study's, this one's'."""
    out = []
    for key in PLAN_KEYS:
        a, b = study.get(key), this.get(key)
        if a == b:
            continue
        if key == "space" and isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                there, here = _distribution(a.get(k)), _distribution(b.get(k))
                if a.get(k) != b.get(k):
                    out.append(f"tune.space.{k}: {there} in the study, {here} here")
        elif key == "hash":
            out.append(f"config hash {a} in the study, {b} here: the spec or its overrides differ")
        else:
            out.append(f"{key}: {a} in the study, {b} here")
    return out
