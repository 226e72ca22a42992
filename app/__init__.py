"""Streamlit UI of the workflow workbench (pages in app/app_pages/, shared widgets in app/components/)."""
