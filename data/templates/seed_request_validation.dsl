start->receive_request;
receive_request->validate_input;
validate_input->process_data:is_valid==True;
validate_input->log_error:is_valid==False;
process_data->send_notification;
log_error->send_rejection;
send_notification->end;
send_rejection->end;
