DROP TABLE IF EXISTS bandwidth_costs, liquid_cpe, liquid_costs, mfn, dfa_helios_suburbs, dfa_helios_nodes, dfa_helios, dfa_magellan;
