# placeholder: filled by the figures stage
