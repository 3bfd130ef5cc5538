//! Test and example host for the workspace (not published).
