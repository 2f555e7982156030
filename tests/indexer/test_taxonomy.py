"""Taxonomy loading: the bundled IAB 3.1, the Google product taxonomy, side files, errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from indexer.interests.taxonomy import (
    ALNUM_ID_OFFSET,
    Taxonomy,
    TaxonomyFormatError,
    load_default_taxonomy,
    load_google_taxonomy,
    load_iab_taxonomy,
    numeric_id,
)

SHARED = Path(os.environ.get("PINSEARCH_SHARED_DATA",
                             Path(__file__).resolve().parents[3] / "shared" / "data"))
GOOGLE = SHARED / "taxonomy" / "google-product-taxonomy.txt"
IAB_SHARED = SHARED / "taxonomy" / "iab-content-taxonomy-3.1.tsv"


@pytest.fixture(scope="module")
def iab() -> Taxonomy:
    return load_default_taxonomy()


def test_iab_counts_and_levels(iab: Taxonomy) -> None:
    assert len(iab) == 704
    assert iab.max_level == 4
    assert [len(iab.by_level(level)) for level in (1, 2, 3, 4)] == [37, 323, 275, 69]
    iab.check()  # levels, paths, parents and children agree everywhere


def test_iab_parents_and_ancestors(iab: Taxonomy) -> None:
    soft_ac = iab[340]
    assert soft_ac.label == "Soft AC Music"
    assert soft_ac.level == 4
    assert soft_ac.path == ("Entertainment", "Music", "Adult Contemporary Music", "Soft AC Music")
    assert [a.label for a in iab.ancestors(340)] == ["Adult Contemporary Music", "Music",
                                                     "Entertainment"]
    assert [n.label for n in iab.lineage(340)] == list(soft_ac.path)
    assert iab.ancestor_at_level(340, 2).label == "Music"
    assert iab[150].parent_id is None and iab[150].level == 1
    assert 151 in iab[150].children
    for node in iab:
        if node.parent_id is not None:
            assert iab[node.parent_id].level == node.level - 1


def test_iab_parent_column_inconsistencies_follow_the_tiers(iab: Taxonomy) -> None:
    # The 3.1 file gives Public Radio (376) and Horse Racing (497) the tier-1 as Parent although
    # their tier columns put them at tier 3; the loader follows the tiers and says so.
    assert iab[376].level == 3 and iab.parent(376).label == "Talk Radio"
    assert iab[497].level == 3 and iab.parent(497).label == "Equine Sports"
    assert len(iab.warnings) == 2


def test_iab_alphanumeric_ids_are_stable(iab: Taxonomy) -> None:
    nid = numeric_id("80DV8O")
    assert nid > ALNUM_ID_OFFSET and nid < 2 ** 53
    assert iab.resolve("80DV8O") == nid
    assert iab[nid].label == "Communication" and iab[nid].source_id == "80DV8O"
    assert iab.resolve("150") == 150 and iab.resolve(150) == 150


def test_find_by_label(iab: Taxonomy) -> None:
    assert [n.id for n in iab.find_by_label("  soft ac   MUSIC ")] == [340]
    assert iab.find_by_label("no such interest") == []


def test_translations_and_add_interest(iab: Taxonomy, tmp_path: Path) -> None:
    tax = load_default_taxonomy()  # a private copy: this test mutates it
    tr = tmp_path / "tr.tsv"
    tr.write_text("# id\tlang\tlabel\n150\tes\tAtracciones\n80DV8O\tfr\tCommunication FR\n",
                  encoding="utf-8")
    assert tax.load_translations(tr) == 2
    assert tax[150].label_in("es") == "Atracciones"
    assert [n.id for n in tax.find_by_label("atracciones")] == [150]
    assert tax.find_by_label("atracciones", lang="en") == []
    node = tax.add_interest("Sourdough Baking", 210, id=900_001, translations={"de": "Sauerteig"})
    assert node.level == tax[210].level + 1 and node.id in tax[210].children
    assert tax.find_by_label("sauerteig")[0].id == 900_001
    assert tax.ancestors(900_001)[0].id == 210
    auto = tax.add_interest("Another")
    assert auto.level == 1 and auto.id == max(n.id for n in tax if n.id != auto.id) + 1
    with pytest.raises(ValueError):
        tax.add_interest("dup", id=900_001)
    with pytest.raises(KeyError):
        tax.add_interest("orphan", 123456789)
    ext = tmp_path / "ext.tsv"
    ext.write_text("900002\t900001\tRye Sourdough\n", encoding="utf-8")
    assert [n.level for n in tax.load_extensions(ext)] == [node.level + 1]
    tax.check()


def test_iab_malformed_lines(tmp_path: Path) -> None:
    head = ("Relational ID System\t\t\tContent Taxonomy v3.1 Tiered Categories\t\t\t\tExtension\n"
            "Unique ID\tParent\tName\tTier 1\tTier 2\tTier 3\tTier 4\t\n")
    bad = tmp_path / "bad.tsv"
    bad.write_text(head + "1\t\tA\tA\t\t\t\t\n2\t9\tB\tA\tB\t\t\t\n", encoding="utf-8")
    with pytest.raises(TaxonomyFormatError) as err:
        load_iab_taxonomy(bad)
    assert err.value.line == 4 and "parent 9" in err.value.reason and str(bad) in str(err.value)
    short = tmp_path / "short.tsv"
    short.write_text(head + "1\t\tA\n", encoding="utf-8")
    with pytest.raises(TaxonomyFormatError) as err:
        load_iab_taxonomy(short)
    assert err.value.line == 3 and "columns" in err.value.reason
    utf = tmp_path / "utf.tsv"
    utf.write_bytes(head.encode() + b"1\t\tA\xff\tA\xff\t\t\t\t\n")
    with pytest.raises(TaxonomyFormatError) as err:
        load_iab_taxonomy(utf)
    assert err.value.line == 3 and "UTF-8" in err.value.reason
    gap = tmp_path / "gap.tsv"
    gap.write_text(head + "1\t\tA\t\tA\t\t\t\n", encoding="utf-8")
    with pytest.raises(TaxonomyFormatError, match="without gaps"):
        load_iab_taxonomy(gap)


def test_translations_malformed(tmp_path: Path) -> None:
    tax = load_default_taxonomy()
    bad = tmp_path / "tr.tsv"
    bad.write_text("150\tes\tAtracciones\n999999\tes\tNada\n", encoding="utf-8")
    with pytest.raises(TaxonomyFormatError) as err:
        tax.load_translations(bad)
    assert err.value.line == 2 and "unknown interest" in err.value.reason
    bad.write_text("150\tspanish\tAtracciones\n", encoding="utf-8")
    with pytest.raises(TaxonomyFormatError, match="ISO 639-1"):
        tax.load_translations(bad)


@pytest.mark.skipif(not GOOGLE.is_file(),
                    reason=f"{GOOGLE} absent (set PINSEARCH_SHARED_DATA to the shared data folder)")
def test_google_taxonomy() -> None:
    g = load_google_taxonomy(GOOGLE)
    data_lines = [ln for ln in GOOGLE.read_text(encoding="utf-8").splitlines()
                  if ln.strip() and not ln.startswith("#")]
    # The data README says 5,594; the 2021-09-21 file has 5,595 category lines, all loaded.
    assert len(g) == len(data_lines) == 5595
    assert g.max_level == 7
    assert len(g.by_level(1)) == 21 and len(g.by_level(7)) == 48
    g.check()
    yachts = g[5644]
    assert yachts.path == ("Vehicles & Parts", "Vehicles", "Watercraft", "Yachts")
    assert g.parent(5644).label == "Watercraft"
    assert [n.level for n in g.ancestors(5644)] == [3, 2, 1]


def test_google_malformed(tmp_path: Path) -> None:
    p = tmp_path / "g.txt"
    p.write_text("# v\n1 - A\n2 - A > B\n3 - A > X > C\n", encoding="utf-8")
    with pytest.raises(TaxonomyFormatError) as err:
        load_google_taxonomy(p)
    assert err.value.line == 4 and "A > X" in err.value.reason
    p.write_text("1 - A\nnot a category line\n", encoding="utf-8")
    with pytest.raises(TaxonomyFormatError) as err:
        load_google_taxonomy(p)
    assert err.value.line == 2


@pytest.mark.skipif(not IAB_SHARED.is_file(), reason=f"{IAB_SHARED} absent")
def test_bundled_copy_matches_shared_file(iab: Taxonomy) -> None:
    from importlib import resources

    bundled = resources.files("pinsearch.data").joinpath("iab-content-taxonomy-3.1.tsv")
    assert bundled.read_bytes() == IAB_SHARED.read_bytes()
    assert len(load_iab_taxonomy(IAB_SHARED)) == len(iab)
