"""A seccomp deny-list, assembled as classic BPF: for bubblewrap's ``--seccomp FD``, and
installed by a tiny launcher (``launcher_argv``) under unshare, which has no such option.

The namespaces already take away the network and the host's files; this filter closes the
kernel interfaces that sandboxed code has no use for and that are the usual ways out of a
namespace or into a kernel bug: new namespaces (``unshare``, ``setns``, ``clone`` with
namespace flags), mounting, ``ptrace``, kernel keyrings, eBPF, perf, userfaultfd, io_uring,
module loading. Denied calls fail with EPERM (``clone3`` with ENOSYS, so libc falls back to
``clone``, whose flags we can inspect). Anything that is not x86-64 native ABI is killed.

Only x86-64 is supported: a syscall table we cannot test here would be a guess.
"""

from __future__ import annotations

import errno
import platform
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000

# BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h).
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL_PROCESS = 0x80000000

# offsets in struct seccomp_data
_NR = 0
_ARCH = 4
_ARG0_LOW = 16  # little-endian: the low 32 bits of args[0]

# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME
_CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000
_CLONE_NAMESPACE_FLAGS |= 0x10000000 | 0x20000000 | 0x40000000 | 0x00000080

_CLONE = 56
_CLONE3 = 435

DENIED_X86_64: dict[str, int] = {
    "ptrace": 101,
    "syslog": 103,
    "pivot_root": 155,
    "chroot": 161,
    "acct": 163,
    "mount": 165,
    "umount2": 166,
    "swapon": 167,
    "swapoff": 168,
    "reboot": 169,
    "sethostname": 170,
    "setdomainname": 171,
    "iopl": 172,
    "ioperm": 173,
    "init_module": 175,
    "delete_module": 176,
    "quotactl": 179,
    "lookup_dcookie": 212,
    "kexec_load": 246,
    "add_key": 248,
    "request_key": 249,
    "keyctl": 250,
    "unshare": 272,
    "perf_event_open": 298,
    "fanotify_init": 300,
    "name_to_handle_at": 303,
    "open_by_handle_at": 304,
    "setns": 308,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "finit_module": 313,
    "kexec_file_load": 320,
    "bpf": 321,
    "userfaultfd": 323,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
}


def supported() -> bool:
    """Whether this machine's architecture has a filter here."""
    return platform.machine() in ("x86_64", "AMD64")


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def deny_filter() -> bytes:
    """The filter program as the bytes of a ``struct sock_filter[]``."""
    denied = sorted(DENIED_X86_64.values())
    # Layout: [0] load arch, [1] arch check, [2] kill, [3] load nr, [4] x32 check,
    # [5 .. 5+n) deny checks, then clone/clone3 checks, allow, and the shared returns.
    n = len(denied)
    first_check = 5
    clone_check = first_check + n
    clone3_check = clone_check + 1
    allow = clone3_check + 1
    ret_eperm = allow + 1
    ret_enosys = ret_eperm + 1
    clone_args = ret_enosys + 1

    def to(target: int, at: int) -> int:
        return target - at - 1

    prog = [
        _insn(_LD_W_ABS, _ARCH),
        _insn(_JEQ_K, AUDIT_ARCH_X86_64, jt=1, jf=0),
        _insn(_RET_K, _RET_KILL_PROCESS),
        _insn(_LD_W_ABS, _NR),
        _insn(_JGE_K, _X32_SYSCALL_BIT, jt=to(ret_eperm, 4), jf=0),
    ]
    for i, nr in enumerate(denied):
        at = first_check + i
        prog.append(_insn(_JEQ_K, nr, jt=to(ret_eperm, at), jf=0))
    prog.append(_insn(_JEQ_K, _CLONE, jt=to(clone_args, clone_check), jf=0))
    prog.append(_insn(_JEQ_K, _CLONE3, jt=to(ret_enosys, clone3_check), jf=0))
    prog.append(_insn(_RET_K, _RET_ALLOW))
    prog.append(_insn(_RET_K, _RET_ERRNO | errno.EPERM))
    prog.append(_insn(_RET_K, _RET_ERRNO | errno.ENOSYS))
    # clone(flags, ...): refuse namespace flags, allow the rest (BPF jumps only forward).
    prog.append(_insn(_LD_W_ABS, _ARG0_LOW))
    prog.append(_insn(_JSET_K, _CLONE_NAMESPACE_FLAGS, jt=0, jf=1))
    prog.append(_insn(_RET_K, _RET_ERRNO | errno.EPERM))
    prog.append(_insn(_RET_K, _RET_ALLOW))
    return b"".join(prog)


# Runs inside the sandbox, after setpriv set no_new_privs: install the filter (argv[1], hex),
# then exec the code (argv[2:]). prctl(PR_SET_SECCOMP=22, SECCOMP_MODE_FILTER=2, &sock_fprog).
_LAUNCHER = """
import ctypes, os, sys
code = bytes.fromhex(sys.argv[1])
class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]
buf = ctypes.create_string_buffer(code, len(code))
prog = Prog(len(code) // 8, ctypes.cast(buf, ctypes.c_char_p))
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:
    sys.exit("sandbox: could not install the seccomp filter: " + os.strerror(ctypes.get_errno()))
os.execv(sys.argv[2], sys.argv[2:])
"""


def launcher_argv(python: str, program: bytes) -> list[str]:
    """A command prefix that installs ``program`` and then execs the rest of the command."""
    return [python, "-I", "-S", "-c", _LAUNCHER, program.hex()]
