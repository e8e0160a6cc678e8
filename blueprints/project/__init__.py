"""The term project (SPEC §5): groups, milestones and their documents, project talks, peer feedback."""
from flask import Blueprint

bp = Blueprint("project", __name__)
