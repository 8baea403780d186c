"""domain/records.py, the Core views `export` reads through without the ORM (issue 5), name every
column of the models' tables, in order, with the same types."""

import pytest
from sqlmodel import SQLModel

from insurtrack.domain import models  # noqa: F401  (registers the tables)
from insurtrack.domain import records


@pytest.mark.parametrize("full", records.TABLES, ids=lambda t: t.name)
def test_export_reads_every_column_of_its_tables_as_the_model_types_it(full):
    real = SQLModel.metadata.tables[full.name]
    assert [c.name for c in full.c] == [c.name for c in real.c]
    for col in full.c:
        theirs, ours = real.c[col.name].type, col.type
        # the same Python value comes back: the same type family, the model's own conversion
        # (UTC instants, money in cents) where it has one, the places of Fixed
        assert ours._type_affinity is theirs._type_affinity, (col.name, ours, theirs)
        if hasattr(theirs, "process_result_value"):
            assert type(ours) is type(theirs), (col.name, ours, theirs)
        assert getattr(ours, "places", None) == getattr(theirs, "places", None), col.name
