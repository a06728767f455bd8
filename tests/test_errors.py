"""Messages quote at most a short, printable piece of an input, and say in plain words
what a library's error means (issue 14)."""

from __future__ import annotations

from dosewatch.errors import plain_reason, quote, sanitise


def test_quoted_text_is_short_printable_ascii():
    text = sanitise("root:x:0:0:\x1b[31m" + "é" * 100 + "\n\tend")
    assert text.startswith("root:x:0:0:?[31m??") and len(text) == 40 and text.endswith("...")
    assert all(" " <= c <= "~" for c in text)
    assert quote(b"\xff\xfeab") == "'??ab'"


def test_library_jargon_is_said_in_plain_words():
    jargon = ValueError("straddling object straddles two block boundaries (try to increase "
                        "block size?)")
    assert plain_reason(jargon).startswith("a line is longer than the reader's block")
    row = ValueError("CSV parse error: Expected 2 columns, got 1: root:x:0:0:root:/root")
    assert plain_reason(row) == "CSV parse error: Expected 2 columns, got 1"
    assert plain_reason(OSError(28, "No space left on device")) == "the disk is full"
    assert plain_reason(KeyError()) == "KeyError"


def _printed(code: str) -> list[str]:
    """The lines a separate Python prints running ``code`` (limits set there stay there)."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60).stdout.splitlines()


def test_running_out_of_memory_names_the_limit_that_was_reached() -> None:
    """An input's memory budget, or an address-space limit set outside dosewatch (ulimit
    -v) when that one is the lower: raising the budget would not help then."""
    from dosewatch.errors import ADDRESS_SPACE_OVERHEAD_MB, address_space_limit_mb, memory_limits

    outside = address_space_limit_mb()
    if outside is None or outside >= 4096 + ADDRESS_SPACE_OVERHEAD_MB:
        what, hint = memory_limits(4096)
        assert what == "more memory than its budget of 4096 MB"
        assert "input_memory_mb" in hint
    lines = _printed("import resource\n"
                     "hard = resource.getrlimit(resource.RLIMIT_AS)[1]\n"
                     "resource.setrlimit(resource.RLIMIT_AS, (3000 << 20, hard))\n"
                     "from dosewatch.errors import memory_limits\n"
                     "for budget in (4096, 512):\n"
                     "    print(' | '.join(memory_limits(budget)))\n")
    assert "address space is limited to 3,000 MB" in lines[0]
    assert "ulimit -v" in lines[0] and "input_memory_mb" not in lines[0]
    assert lines[1].startswith("more memory than its budget of 512 MB")


def test_running_out_of_memory_inside_the_budget_names_the_limit_really_reached() -> None:
    """Under an address-space limit below the budget plus the usual overhead, an input
    that runs into its (smaller) budget is told to raise the budget, not ulimit -v; one
    that runs into the address-space limit is told to raise that."""
    lines = _printed(
        "import resource, numpy as np\n"
        "from dosewatch.batch import memory_budget\n"
        "from dosewatch.errors import memory_limits\n"
        "size = int(open('/proc/self/status').read().split('VmSize:')[1].split()[0])\n"
        "hard = resource.getrlimit(resource.RLIMIT_AS)[1]\n"
        "resource.setrlimit(resource.RLIMIT_AS, ((size << 10) + (3000 << 20), hard))\n"
        "for budget, mb in ((2000, 2500), (4000, 3500)):\n"
        "    with memory_budget(budget):\n"
        "        try:\n"
        "            np.ones(mb << 20, dtype=np.uint8)\n"
        "        except MemoryError:\n"
        "            print(' | '.join(memory_limits(budget)))\n")
    assert len(lines) == 2
    assert lines[0].startswith("more memory than its budget of 2000 MB"), lines[0]
    assert "input_memory_mb" in lines[0]
    assert "address space is limited" in lines[1] and "ulimit -v" in lines[1], lines[1]
