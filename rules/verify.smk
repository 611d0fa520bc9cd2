# placeholder: filled by the verify stage
