"""Reports people would rather look at: one self-contained HTML file for a run or a comparison."""
