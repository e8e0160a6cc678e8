"""The demo course (the model-serving seminar) and its loader."""
from demo.course import load_demo, login_emails, logins_text, student_email

__all__ = ["load_demo", "login_emails", "logins_text", "student_email"]
