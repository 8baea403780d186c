"""The light tables of domain/tables.py (the `due` board's reads without the ORM) name only
columns the models declare, with the same kind of type (issue 5)."""

import pytest
from sqlmodel import SQLModel

from insurtrack.domain import models  # noqa: F401  (registers the tables)
from insurtrack.domain import tables


@pytest.mark.parametrize("light", [tables.followup, tables.staff, tables.customer],
                         ids=lambda t: t.name)
def test_every_light_column_is_the_models_column(light):
    real = SQLModel.metadata.tables[light.name]
    for col in light.c:
        assert col.name in real.c, f"{light.name}.{col.name} is not a column of the model"
        theirs = real.c[col.name].type
        ours = col.type
        # the same Python value comes back: the same type family, and the model's own
        # conversion (UTC instants) where it has one
        assert ours._type_affinity is theirs._type_affinity, (col.name, ours, theirs)
        if hasattr(theirs, "process_result_value"):
            assert type(ours) is type(theirs), (col.name, ours, theirs)
