# SPDX-License-Identifier: GPL-2.0
"""Helpers for the Python snippets of tests/func/*.sh (run in the guest).

The snippets import this as:
    sys.path.insert(0, os.environ["ROOT"] + "/tests/guest")
    from rdxfmt import crc32c
"""


def crc32c(data, crc=0):
    """crc32c (Castagnoli) of data, chained from crc, as refdax_crc32c()."""
    crc ^= 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
    return crc ^ 0xffffffff
