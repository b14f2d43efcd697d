//! LunaSentri hub.
