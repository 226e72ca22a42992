start->a;
a->b;
a->c;
b->end;
orphan->end;
