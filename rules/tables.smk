# placeholder: filled by the tables stage
