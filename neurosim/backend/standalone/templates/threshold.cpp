{# USES_VARIABLES { N } #}
{# neurosim: Brian2's cpp_standalone threshold.cpp (same variables, events and order of events), but the
   condition is evaluated for a block of neurons in a loop without a branch, which the compiler vectorises;
   only a block with an event is walked again to record it. Events are rare (a few neurons per step), so
   most blocks cost a vectorised compare. The condition is evaluated once per neuron (stored per block), so a
   condition with side effects (rand()) draws exactly as in Brian2's template. #}
{% extends 'common_group.cpp' %}
{% block maincode %}
       {# not_refractory and lastspike are added as needed_variables in the
       Thresholder class, we cannot use the USES_VARIABLE mechanism
       conditionally
       Same goes for "eventspace" (e.g. spikespace) which depends on the type of
       event #}

    //// MAIN CODE ////////////
    // scalar code
    const int _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {#  Get the name of the array that stores these events (e.g. the spikespace array) #}
    {% set _eventspace = get_array_name(eventspace_variable) %}

    long _count = 0;
    const size_t _block = 32;
    char _conds[_block];
    for(size_t _start=0; _start<N; _start+=_block)
    {
        const size_t _n = N - _start < _block ? N - _start : _block;
        char _any = 0;
        {# one loop, written out twice: a full block has a constant trip count, which GCC unrolls into a few
           vector compares #}
        {% macro evaluate(count) %}
            for(size_t _k=0; _k<{{count}}; _k++)
            {
                const size_t _idx = _start + _k;
                const size_t _vectorisation_idx = _idx;
                {{vector_code|autoindent}}
                _conds[_k] = _cond;
                _any |= _cond;
            }
        {%- endmacro %}
        if(_n == _block)
        {
{{ evaluate('_block') }}
        }
        else
        {
{{ evaluate('_n') }}
        }
        if(!_any)
            continue;
        for(size_t _k=0; _k<_n; _k++)
        {
            if(_conds[_k]) {
                const size_t _idx = _start + _k;
                {{_eventspace}}[_count++] = _idx;
                {% if _uses_refractory %}
                {{not_refractory}}[_idx] = false;
                {{lastspike}}[_idx] = {{t}};
                {% endif %}
            }
        }
    }
    {{_eventspace}}[N] = _count;
{% endblock %}

{% block after_code %}
{% set _eventspace = get_array_name(eventspace_variable) %}
{{_eventspace}}[N] = 0;  // Note that this is not an off-by-1-error: the array has N+1 elements
{% endblock %}
