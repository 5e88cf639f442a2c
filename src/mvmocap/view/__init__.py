"""The 3D replay page of a run (``mvmocap view``): one offline HTML file with three.js vendored."""

from mvmocap.view.page import ReplayData, replay_data, view_run, write_replay_page

__all__ = ["ReplayData", "replay_data", "view_run", "write_replay_page"]
