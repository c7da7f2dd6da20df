// A plugin library with an unresolved symbol (as one built against other attnlab headers would
// have): loading it must fail with dlerror()'s "undefined symbol" (load_plugin_main.cpp).
extern "C" int attnlab_symbol_nobody_defines(int);

extern "C" int attnlab_bad_plugin_entry(int x) { return attnlab_symbol_nobody_defines(x) + 1; }
