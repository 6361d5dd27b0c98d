"""Linli (邻里): a Telegram bot that runs the service work of a residential community."""
