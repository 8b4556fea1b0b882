//! Path-relative (*at) file operations confined to a root directory, for `berth cp`.
