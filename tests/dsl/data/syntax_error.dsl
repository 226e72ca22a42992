start->a;
a->end:x.__class__ == 1;
