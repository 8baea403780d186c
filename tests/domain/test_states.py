"""Every allowed and every forbidden step of the five state machines (L3–L7, T8)."""

import pytest

from insurtrack.domain import states
from insurtrack.errors import IllegalTransition, Refused

CASES = [
    (kind, state, action)
    for kind, table in states.MACHINES.items()
    for state in table
    for action in sorted({a for steps in table.values() for a in steps})
]


@pytest.mark.parametrize("kind,state,action", CASES)
def test_every_pair_is_allowed_or_refused_with_the_allowed_steps(kind, state, action):
    table = states.MACHINES[kind]
    if action in table[state]:
        assert states.transition(kind, state.value, action, "X-1") == table[state][action]
    else:
        with pytest.raises(IllegalTransition) as err:
            states.transition(kind, state.value, action, "X-1")
        message = str(err.value)
        assert state.value.replace("_", " ") in message
        for allowed in table[state]:
            assert allowed in message
        if not table[state]:
            assert "none (final state)" in message


def test_every_state_is_in_its_table():
    for kind, table in states.MACHINES.items():
        enum = type(next(iter(table)))
        assert set(table) == set(enum), kind
        for steps in table.values():
            assert set(steps.values()) <= set(enum), kind


@pytest.mark.parametrize("kind,state,action", [
    ("claim", "rejected", "pay"),            # L7: paying a rejected claim
    ("application", "declined", "issue"),    # L4/L5: issuing from a declined application
    ("application", "draft", "submit"),      # L3: not before the first review
    ("policy", "cancelled", "pay"),
    ("installment", "paid", "pay_part"),
    ("feedback", "open", "inform"),          # T8: tell the customer only once solved
])
def test_named_illegal_steps(kind, state, action):
    with pytest.raises(Refused) as err:
        states.transition(kind, state, action, "CODE-1")
    assert err.value.exit_code == 4
    assert "CODE-1" in str(err.value) and state.replace("_", " ") in str(err.value)


def test_final_states_have_no_steps():
    assert states.allowed("application", "declined") == []
    assert states.allowed("claim", "closed") == ["reopen"]
    assert states.allowed("policy", "issued") == ["cancel", "pay", "remind"]


def test_frequency_periods():
    F = states.Frequency
    assert [F(f).months for f in ("single", "annual", "semi-annual", "quarterly", "monthly")] == [0, 12, 6, 3, 1]
    assert F.MONTHLY.per_year == 12 and F.SINGLE.per_year == 0
