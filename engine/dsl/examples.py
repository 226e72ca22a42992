"""The DSL examples of the seed design, verbatim (they must always validate).

Sources in the seed design document: §2.1 (current workflow example), §5.1.1 (translator output),
§7.1 (``POST /api/v1/workflows/translate`` response), §8.2 (prompt template example output) and
Appendix C examples 1–3. Used by the DSL playground and by the tests.
"""

from __future__ import annotations

SEED_EXAMPLES: dict[str, str] = {
    "§2.1 current workflow": """start->validate_input;
validate_input->process:input_valid==True;
validate_input->error:input_valid==False;
process->notify;
notify->end;
error->end;
""",
    "§5.1.1 translator output": """
start->receive_request;
receive_request->validate_input;
validate_input->process_data:is_valid==True;
validate_input->log_error:is_valid==False;
process_data->send_notification;
log_error->send_rejection;
send_notification->end;
send_rejection->end;
""",
    "§7.1 translate response (file upload)": (
        "start->receive_file;receive_file->validate_format;validate_format->scan_virus:format_valid==True;"
        "validate_format->error:format_valid==False;scan_virus->store_s3:virus_free==True;"
        "scan_virus->quarantine:virus_free==False;store_s3->end;quarantine->end;error->end;"
    ),
    "§8.2 prompt example": (
        "start->validate;validate->process:is_valid==True;validate->error:is_valid==False;process->end;error->end;"
    ),
    "Appendix C.1 e-commerce order processing": """
start->validate_order;
validate_order->check_inventory:order_valid==True;
validate_order->order_error:order_valid==False;
check_inventory->reserve_inventory:all_available==True;
check_inventory->partial_availability:some_available==True;
check_inventory->out_of_stock:none_available==True;
reserve_inventory->process_payment;
process_payment->send_confirmation:payment_success==True;
process_payment->payment_failed:payment_success==False;
send_confirmation->notify_fulfillment;
notify_fulfillment->end;
payment_failed->release_inventory;
release_inventory->notify_payment_failure;
notify_payment_failure->end;
partial_availability->send_partial_notification;
send_partial_notification->wait_customer_decision;
wait_customer_decision->end;
out_of_stock->notify_out_of_stock;
notify_out_of_stock->end;
order_error->end;
""",
    "Appendix C.2 CI/CD pipeline (parallel)": """
start->code_quality_check;
code_quality_check->parallel_tests:quality_pass==True;
code_quality_check->notify_failure:quality_pass==False;
parallel_tests->[run_unit_tests,run_integration_tests,run_security_scan];
[run_unit_tests,run_integration_tests,run_security_scan]->build_image:all_tests_pass==True;
[run_unit_tests,run_integration_tests,run_security_scan]->notify_failure:any_test_fail==True;
build_image->push_to_registry;
push_to_registry->deploy_staging;
deploy_staging->smoke_tests;
smoke_tests->wait_approval:smoke_pass==True;
smoke_tests->rollback:smoke_pass==False;
wait_approval->deploy_production:approved==True;
wait_approval->cancelled:approved==False;
deploy_production->end;
rollback->notify_failure;
notify_failure->end;
cancelled->end;
""",
    "Appendix C.3 support tickets": """
start->classify_ticket;
classify_ticket->urgent_assignment:urgency=='high';
classify_ticket->check_knowledge_base:urgency=='normal';
urgent_assignment->notify_escalation;
notify_escalation->track_resolution;
check_knowledge_base->send_automated_response:solution_found==True;
check_knowledge_base->assign_to_team:solution_found==False;
send_automated_response->wait_customer_feedback;
wait_customer_feedback->mark_resolved:customer_satisfied==True;
wait_customer_feedback->assign_to_team:customer_satisfied==False;
assign_to_team->track_resolution;
mark_resolved->track_resolution;
track_resolution->end;
""",
}

# Extensions of this project (not in the seed): a parallel join with a decision, a natural-language
# condition and an @error fallback. Shown in the playground next to the seed examples.
EXTENDED_EXAMPLES: dict[str, str] = {
    "Extended: loan check (parallel, NL condition, @error)": """# fetch two scores in parallel, then decide
start->fetch_application;
fetch_application->[credit_score,fraud_check];
[credit_score,fraud_check]->decide;
decide->approve:600<=score<700 and region in ['eu','us'];
decide->manual_review:"the applicant's notes sound urgent";
decide->reject;
fetch_application->notify_failure:@error;
approve->end;
manual_review->end;
reject->end;
notify_failure->end;
""",
}
