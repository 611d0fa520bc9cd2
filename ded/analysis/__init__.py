"""DED's analyses of why a teacher's corpus suits a student: token entropy (Figure 3) and PCA shift (Figure 4)."""
