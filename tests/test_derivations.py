"""The argument is in the repository: every reference resolves, every result names its check."""

import re
import subprocess

from conftest import ROOT

DOC = ROOT / "docs" / "derivations.md"


def tracked_text_files():
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    text = [
        p
        for p in out
        if p.endswith((".py", ".md", ".toml", ".yml", ".txt", ".cfg")) or p == "Makefile"
    ]
    return [ROOT / p for p in text if (ROOT / p).is_file()]


def sections():
    """{'R1': text of section R1, …}."""
    parts = re.split(r"^## (R\d+)\. ", DOC.read_text(), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_every_reference_resolves_to_a_heading():
    known = set(sections())
    assert known == {f"R{i}" for i in range(1, len(known) + 1)}, sorted(known)
    cited = set()
    for path in tracked_text_files():
        for ref in re.findall(
            r"derivations ((?:R\d+(?:, | and |–)?)+)", path.read_text(errors="ignore")
        ):
            cited |= set(re.findall(r"R\d+", ref))
    assert cited and cited <= known, sorted(cited - known)


def test_nothing_cites_a_file_outside_the_repository_or_an_issue():
    pattern = re.compile(
        r"paper-notes|pipeline-notes|anchors\.md|shared/reference|\bthe issue\b|issue #\d", re.I
    )
    offenders = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in tracked_text_files()
        if p.name != "test_derivations.py"
        for n, line in enumerate(p.read_text(errors="ignore").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, offenders


def test_every_result_states_its_status_and_a_check_that_exists():
    tests = {
        f"tests/{p.name}::{name}"
        for p in (ROOT / "tests").glob("test_*.py")
        for name in re.findall(r"^def (test_\w+)", p.read_text(), re.M)
    }
    for name, text in sections().items():
        assert re.search(
            r"\*\*Status:\*\* (the problem|our derivation|observation|a known theorem)", text
        ), name
        checked = text.split("**Checked by:**", 1)
        assert len(checked) == 2, f"{name} names no check"
        for ref in re.findall(r"`(tests/[\w/]+\.py::\w+)`", checked[1]):
            assert ref in tests, f"{name}: {ref} does not exist"
        for notebook, quoted in re.findall(r"`notebooks/(\w+)\.py`((?:[^`]|\n)*)", checked[1]):
            source = (ROOT / "notebooks" / f"{notebook}.py").read_text()
            for phrase in re.findall(r"\"([^\"]+)\"", quoted):
                for part in " ".join(phrase.split()).split("…"):
                    assert " ".join(part.split()).strip(" ,:") in " ".join(source.split()), (
                        f"{name}: {phrase!r}"
                    )
