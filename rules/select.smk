# placeholder: filled by the select stage
