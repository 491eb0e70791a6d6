"""C++ that neurosim's cpp_standalone builds use in place of Brian2's (see ``spikequeue.h``)."""
