"""'=>' written where an arrow belongs gets "did you mean '->'", not the '==' hint of a comparison."""

import pytest

from engine.dsl import DSLError, check


@pytest.mark.parametrize("text", ["start=>a;a->end;", "start->a;a=>end;", "start->a;[a,b]=>end;"])
def test_fat_arrow_where_an_arrow_is_expected_suggests_the_arrow(text):
    with pytest.raises(DSLError) as err:
        check(text)
    issue = err.value.issues[0]
    assert "did you mean '->'" in issue.hint and "==" not in issue.hint
    assert issue.column == text.index("=>") + 1


def test_fat_arrow_inside_a_condition_suggests_greater_or_equal():
    with pytest.raises(DSLError) as err:
        check("start->a:total=>100;a->end;")
    assert "'>='" in err.value.issues[0].hint


def test_single_equals_in_a_condition_still_suggests_double_equals():
    with pytest.raises(DSLError) as err:
        check("start->a:x=1;a->end;")
    assert "'=='" in err.value.issues[0].hint
