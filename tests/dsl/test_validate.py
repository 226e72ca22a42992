"""Validator: each error and warning, with line:column and a hint."""

import pytest

from engine.dsl import DSLError, analyze, check, load_valid, parse, validate


def report(text):
    _, rep = check(text)
    return rep


def only_error(text, code):
    rep = report(text)
    errors = [e for e in rep.errors if e.code == code]
    assert errors, f"no {code} in {[e.format() for e in rep.errors]}"
    return errors[0]


def codes(issues):
    return [i.code for i in issues]


def test_valid_workflow_has_no_findings():
    rep = report("start->a;\na->b:x>1;\na->c;\nb->end;\nc->end;")
    assert rep.ok and rep.errors == [] and rep.warnings == []


def test_no_start():
    issue = only_error("\n  first->second;\nsecond->end;", "no_start")
    assert (issue.line, issue.column) == (2, 3)
    assert "start->first_step" in issue.hint
    assert issue.excerpt.splitlines()[0].strip() == "first->second;"


def test_no_start_still_reports_local_errors():
    rep = report("a->b;\na->c;\nb->end;\nc->end;")
    assert codes(rep.errors) == ["no_start", "two_defaults"]


def test_empty_workflow_has_no_start():
    rep = report("# nothing here\n")
    assert codes(rep.errors) == ["no_start"] and rep.errors[0].line == 1


def test_end_unreachable_when_end_is_named():
    issue = only_error("start->a;\na->a:x>1;\na->b;\nb->a;\nc->end;", "end_unreachable")
    assert (issue.line, issue.column) == (5, 4)  # first place 'end' is named
    assert "->end" in issue.hint


def test_end_missing_entirely():
    issue = only_error("start->a;\na->b;\nb->a;", "end_unreachable")
    assert "never reaches 'end'" in issue.message and issue.line == 3


def test_unreachable_state_points_at_its_first_mention():
    rep = report("start->a;\na->end;\n  orphan->a;")
    (issue,) = [e for e in rep.errors if e.code == "unreachable"]
    assert "'orphan'" in issue.message and (issue.line, issue.column) == (3, 3)
    assert "some_step->orphan" in issue.hint


def test_dead_end():
    issue = only_error("start->a;\na->b:x==1;\na->end;", "dead_end")
    assert "'b'" in issue.message and (issue.line, issue.column) == (2, 4)
    assert "b->end;" in issue.hint


def test_state_with_only_an_error_path_is_a_dead_end():
    issue = only_error("start->a;\na->fallback:@error;\nfallback->end;", "dead_end")
    assert "only an @error transition" in issue.message and (issue.line, issue.column) == (1, 8)


def test_two_unconditional_transitions_suggest_parallel():
    issue = only_error("start->a;\na->b;\na->c;\nb->end;\nc->end;", "two_defaults")
    assert (issue.line, issue.column) == (3, 1)
    assert "a->[b,c]" in issue.hint and "parallel" in issue.hint
    assert "(b, c)" in issue.message


def test_two_error_paths():
    issue = only_error("start->a;\na->end;\na->f1:@error;\na->f2:@error;\nf1->end;\nf2->end;", "two_error_paths")
    assert (issue.line, issue.column) == (4, 1)


def test_bad_fan_in_names_a_state_outside_the_branches():
    text = "start->f;\nf->[a,b];\na->a2;\n[a2,zz]->j;\nb->j2;\nzz->end;\nj->end;\nj2->end;"
    issue = only_error(text, "bad_fan_in")
    assert (issue.line, issue.column) == (4, 1)
    assert "'zz'" in issue.message
    assert "[a,b]->next" in issue.hint


def test_bad_fan_in_with_the_wrong_number_of_branches():
    issue = only_error("start->f;\nf->[a,b,c];\n[a,b]->j;\nc->end;\nj->end;", "bad_fan_in")
    assert issue.line == 3 and "with 2 branches" in issue.message


def test_bad_fan_in_without_any_fan_out():
    issue = only_error("start->a;\na->b:x>1;\na->c;\n[b,c]->end;", "bad_fan_in")
    assert "fork->[a,b]" in issue.hint and issue.line == 4


def test_fan_in_may_name_the_last_state_of_each_branch_in_any_order():
    rep = report("start->f;\nf->[a,b];\na->a2;\na2->a3;\n[b,a3]->j;\nj->end;")
    assert rep.ok, [e.format() for e in rep.errors]
    (group,) = analyze(parse("start->f;\nf->[a,b];\na->a2;\na2->a3;\n[b,a3]->j;\nj->end;")).groups
    assert group.branch_ends == ("b", "a3") and group.fork == "f"


def test_nested_fan_out_inside_a_branch():
    text = "start->f;\nf->[a,b];\na->[a1,a2];\n[a1,a2]->a_done;\n[a_done,b]->j;\nj->end;"
    rep = report(text)
    assert rep.ok, [e.format() for e in rep.errors]
    assert len(analyze(parse(text)).groups) == 2


def test_branch_end_with_an_unconditional_transition():
    issue = only_error("start->f;\nf->[a,b];\na->x;\n[a,b]->j;\nx->end;\nj->end;", "branch_end_default")
    assert (issue.line, issue.column) == (3, 1) and "'a'" in issue.message


def test_branch_end_may_have_a_conditional_retry():
    rep = report("start->f;\nf->[a,b];\na->a:retry==True;\n[a,b]->j;\nj->end;")
    assert rep.ok and "no_default" not in codes(rep.warnings)


def test_two_unconditional_fan_ins_of_one_join():
    issue = only_error("start->f;\nf->[a,b];\n[a,b]->x;\n[a,b]->y;\nx->end;\ny->end;", "two_defaults")
    assert issue.line == 4 and "merge" in issue.hint


def test_empty_fan_out_member_is_reported_by_check():
    with pytest.raises(DSLError) as info:
        check("start->[a,,b];")
    assert info.value.issues[0].code == "empty_member"


def test_group_to_group_is_reported_by_check():
    with pytest.raises(DSLError) as info:
        check("start->[a,b];\n[a,b]->[c,d];")
    assert info.value.issues[0].code == "group_to_group" and info.value.issues[0].line == 2


@pytest.mark.parametrize("text", ["start->a;\na->start;", "start->end;\nend->a;"])
def test_reserved_names_are_reported_by_check(text):
    with pytest.raises(DSLError) as info:
        check(text)
    assert info.value.issues[0].code == "reserved" and info.value.issues[0].line == 2


# --- warnings ------------------------------------------------------------------------------


def test_conditional_transitions_without_default_warn():
    rep = report("start->a;\na->b:x==1;\na->c:x==2;\nb->end;\nc->end;")
    assert rep.ok
    (w,) = rep.warnings
    assert w.code == "no_default" and w.severity == "warning" and (w.line, w.column) == (2, 1)
    assert "a->end;" in w.hint


def test_join_with_conditions_and_no_default_warns():
    rep = report("start->f;\nf->[a,b];\n[a,b]->x:ok==True;\n[a,b]->y:ok==False;\nx->end;\ny->end;")
    assert rep.ok and codes(rep.warnings) == ["no_default"] and rep.warnings[0].line == 3


def test_error_fallback_alone_is_not_a_missing_default():
    rep = report("start->a;\na->b;\na->f:@error;\nb->end;\nf->end;")
    assert rep.ok and rep.warnings == []


def test_fan_out_without_fan_in_warns():
    rep = report("start->f;\nf->[a,b];\na->end;\nb->end;")
    assert rep.ok and codes(rep.warnings) == ["no_fan_in"]
    assert "[a,b]->next_step" in rep.warnings[0].hint


def test_branch_that_can_end_early_warns():
    rep = report("start->f;\nf->[a,b];\na->end:skip==True;\n[a,b]->j;\nj->end;")
    assert "branch_reaches_end" in codes(rep.warnings)


def test_loop_without_way_out_warns():
    rep = report("start->a;\na->end:done==True;\na->b;\nb->c;\nc->b;")
    assert rep.ok
    trapped = [w for w in rep.warnings if w.code == "cannot_reach_end"]
    assert [w.message.split("'")[1] for w in trapped] == ["b", "c"]


def test_loops_with_an_exit_are_fine():
    rep = report("start->a;\na->a:again==True;\na->end;")
    assert rep.ok and rep.warnings == []


def test_duplicate_and_constant_conditions_warn():
    rep = report("start->a;\na->b:x==1;\na->b:x==1;\na->c:True;\na->end;\nb->end;\nc->end;")
    assert {"duplicate", "constant_condition"} <= set(codes(rep.warnings))


def test_findings_are_sorted_by_position_and_formatted():
    rep = report("start->a;\na->b;\na->c;\nb->end;\nc->end;\nzz->end;")
    lines = [e.line for e in rep.errors]
    assert lines == sorted(lines)
    text = rep.errors[0].format("w.dsl")
    assert text.startswith("w.dsl:3:1: error: ") and "\n  a->c;\n  ^" in text and "hint:" in text


def test_load_valid_raises_every_error():
    with pytest.raises(DSLError) as info:
        load_valid("start->a;\na->b;\na->c;\nzz->end;")
    assert {"two_defaults", "dead_end", "unreachable"} <= set(codes(info.value.issues))


def test_validate_without_source_text_has_no_excerpts():
    rep = validate(parse("start->a;\na->b;\na->c;\nb->end;\nc->end;"))
    assert rep.errors[0].excerpt == "" and rep.errors[0].line == 3


def test_a_true_false_pair_without_default_says_what_is_left_to_fail():
    """x==True and x==False cover every true/false value: the warning says a missing (or non-boolean) x is
    what fails, and proposes making one of the two the default (was: "add 'a->end;'", which would end
    the run silently instead of taking either path)."""
    rep = report("start->a;\na->b:ok==True;\na->c:ok==False;\nb->end;\nc->end;")
    (w,) = rep.warnings
    assert w.code == "no_default" and (w.line, w.column) == (2, 1)
    assert "ok==True / ok==False only" in w.message and "not set" in w.message
    assert "'a->c;'" in w.hint and "sets 'ok'" in w.hint
    rep = report("start->f;\nf->[a,b];\n[a,b]->x:ok==True;\n[a,b]->y:ok==False;\nx->end;\ny->end;")
    (w,) = rep.warnings
    assert "ok==True / ok==False only" in w.message and "'[a,b]->y;'" in w.hint


def test_a_true_false_pair_is_suggested_its_variable():
    from engine.ai.translator import offline_suggestions

    model, _ = check("start->a;\na->b:ok==True;\na->c:ok==False;\nb->end;\nc->end;")
    assert any("Make sure 'ok' is set before 'a'" in s for s in offline_suggestions(model))
    model, _ = check("start->a;\na->b:x==1;\na->c:x==2;\nb->end;\nc->end;")
    assert any("Give 'a' a default transition" in s for s in offline_suggestions(model))
