// neurosim's spike queue for Brian2 cpp_standalone: the interface of Brian2's CSpikeQueue
// (brian2/synapses/cspikequeue.cpp), which neurosim's build puts in its place (neurosim/build.py).
//
// Why: with heterogeneous delays Brian2 pushes every synapse of a spiking neuron separately into the queue
// slot of its delay (an integer modulo and a push_back per synapse: ~5 ns each, a fifth of the benchmark's
// run). neurosim orders each source's synapses by distance, hence by delay, so they form a few long runs of
// equal delay. prepare() records those runs; push() appends each run to its slot in one block copy.
// What is queued, and in which order, is exactly what CSpikeQueue queues: for each spiking neuron (in the
// order of the spike array), its synapses in index order, each in the slot of its own delay. Runs of one
// synapse (unsorted synapses) work too, at the old cost.
#ifndef NEUROSIM_SPIKEQUEUE_H
#define NEUROSIM_SPIKEQUEUE_H

#include <algorithm>
#include <cassert>
#include <iostream>
#include <iterator>
#include <map>
#include <utility>
#include <vector>
#include "stdint_compat.h"
// Brian2's generated code (synapses_classes.h, code objects) relies on what its queue header brings in,
// the std namespace included.
using namespace std;

class CSpikeQueue
{
public:
    std::vector< std::vector<int32_t> > queue;  // queue[(offset + d) % size]: synapses due in d steps
    double dt;
    int offset;
    bool scalar_delay;
    int32_t source_start;
    int32_t source_end;
    int openmp_padding;
    std::vector< std::vector<int> > synapses;  // per source neuron: its synapses, in index order
    // Per source neuron, runs of consecutive synapses (in index order) with the same delay:
    // run_start[n] .. run_start[n + 1] index run_delay / run_begin / run_length.
    std::vector<int> run_start;
    std::vector<int> run_delay;
    std::vector<int> run_begin;  // position in synapses[n]
    std::vector<int> run_length;

    CSpikeQueue(int _source_start, int _source_end)
        : dt(0.0), offset(0), scalar_delay(false), source_start(_source_start), source_end(_source_end),
          openmp_padding(0)
    {
        queue.resize(1);
    }

    template <typename scalar> void prepare(scalar *real_delays, int n_delays, int32_t *sources, int n_synapses,
                                            double _dt)
    {
        assert(n_delays == 1 || n_delays == n_synapses);
        if (dt != 0.0 && dt != _dt)  // a new time step: move what is queued to the nearest new slot
        {
            const std::vector< std::vector<int32_t> > old = queue;
            const double factor = dt / _dt;
            const size_t old_size = old.size();
            queue.clear();
            queue.resize((size_t)(old_size * factor) + 1);
            for (size_t k = 0; k < old_size; k++)
                queue[(size_t)(k * factor + 0.5)] = old[(k + offset) % old_size];
            offset = 0;
        }
        std::vector<int> steps(n_delays);
        int min_delay = 0, max_delay = 0;
        for (int k = 0; k < n_delays; k++)
        {
            steps[k] = (int)(real_delays[k] / _dt + 0.5);  // Brian2's rounding
            if (k == 0 || steps[k] > max_delay) max_delay = steps[k];
            if (k == 0 || steps[k] < min_delay) min_delay = steps[k];
        }
        synapses.assign(source_end - source_start, std::vector<int>());
        for (int k = 0; k < n_synapses; k++)
            synapses[sources[k] - source_start].push_back(k + openmp_padding);
        run_start.assign(1, 0);
        run_delay.clear();
        run_begin.clear();
        run_length.clear();
        for (size_t n = 0; n < synapses.size(); n++)
        {
            const std::vector<int> &mine = synapses[n];
            for (size_t k = 0; k < mine.size(); k++)
            {
                const int d = n_delays == 1 ? steps[0] : steps[mine[k] - openmp_padding];
                if (k > 0 && d == run_delay.back())
                    run_length.back()++;
                else
                {
                    run_delay.push_back(d);
                    run_begin.push_back((int)k);
                    run_length.push_back(1);
                }
            }
            run_start.push_back((int)run_delay.size());
        }
        dt = _dt;
        if (max_delay >= (int)queue.size())
            expand(max_delay + 1);
        scalar_delay = (min_delay == max_delay);
    }

    std::pair< int, std::vector< std::vector<int32_t> > > _full_state()
    {
        return std::make_pair(offset, queue);
    }

    void _clear() {}

    void _restore_from_full_state(const std::pair< int, std::vector< std::vector<int32_t> > > state)
    {
        queue = state.second;
        if (queue.empty())
            queue.resize(1);
        offset = state.first;
    }

    void expand(size_t newsize)
    {
        if (newsize <= queue.size())
            return;
        std::rotate(queue.begin(), queue.begin() + offset, queue.end());
        offset = 0;
        queue.resize(newsize);
    }

    void push(int32_t *spikes, int nspikes)
    {
        if (nspikes == 0)
            return;
        const int first = (int)(std::lower_bound(spikes, spikes + nspikes, source_start) - spikes);
        const int last = (int)(std::upper_bound(spikes, spikes + nspikes, source_end - 1) - spikes);
        const int size = (int)queue.size();
        for (int s = first; s < last; s++)
        {
            const int n = spikes[s] - source_start;
            const int *ids = synapses[n].data();
            for (int r = run_start[n]; r < run_start[n + 1]; r++)
            {
                int slot = offset + run_delay[r];
                if (slot >= size)
                    slot -= size;
                std::vector<int32_t> &q = queue[slot];
                const int *from = ids + run_begin[r];
                q.insert(q.end(), from, from + run_length[r]);
            }
        }
    }

    inline std::vector<int32_t> *peek()
    {
        return &queue[offset];
    }

    void advance()
    {
        queue[offset].clear();
        offset = (offset + 1) % queue.size();
    }
};

#endif
