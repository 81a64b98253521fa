-- Which issuer authority serves from this store, recorded at the first 'issuer serve'. A store
-- without this row has never been served: 'serve' refuses it when its keys directory shows the
-- issuer has served before (a store pointed at the wrong place), and refuses a store recorded
-- for another authority (keys from another issuer).
CREATE TABLE issuer_served (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  ca_pin          VARCHAR(80) NOT NULL,
  first_served_at TIMESTAMP WITH TIME ZONE NOT NULL
);
