//! Sizes shared by `update` (navigation) and `view` (drawing), so both agree on the grid.

/// Below this the dashboard shows only "terminal too small".
pub const MIN_SIZE: (u16, u16) = (40, 10);
/// Below this the grid becomes a one-line-per-probe list.
pub const GRID_MIN: (u16, u16) = (100, 30);
/// Width of one grid pane, at least: panes stretch to share the terminal's width.
pub const PANE_WIDTH: u16 = 36;
/// Height of one grid pane (borders included).
pub const PANE_HEIGHT: u16 = 6;

pub fn too_small((w, h): (u16, u16)) -> bool {
    w < MIN_SIZE.0 || h < MIN_SIZE.1
}

pub fn narrow((w, h): (u16, u16)) -> bool {
    w < GRID_MIN.0 || h < GRID_MIN.1
}

/// Columns of the overview grid for `n` probes: as many as fit, then evened out so the rows
/// are as full as they can be (six probes at 200 columns: 3 + 3 panes of 66, not 5 + 1 of 40).
pub fn grid_columns(width: u16, n: usize) -> usize {
    let fit = usize::from((width / PANE_WIDTH).max(1));
    let n = n.max(1);
    n.div_ceil(n.div_ceil(fit))
}

/// Rows between the header and the footer.
pub fn body_height((_, h): (u16, u16)) -> usize {
    usize::from(h.saturating_sub(2))
}

/// Rows of the drill's scrolling part: the body less the breadcrumb row at its top.
pub fn drill_height(size: (u16, u16)) -> usize {
    body_height(size).saturating_sub(1)
}
