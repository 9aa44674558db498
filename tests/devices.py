"""Helpers for the tests that need a special device (importable from every test folder: tests/ is on sys.path)."""

import os
import stat


def is_full_device() -> bool:
    """/dev/full is the character device (1, 7) that fails every write with ENOSPC."""
    try:
        st = os.stat("/dev/full")
    except OSError:
        return False
    return stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 7
