-- The example's PostgreSQL table (make run-jdbc loads it once).
CREATE TABLE IF NOT EXISTS orders (
  id SERIAL PRIMARY KEY,
  customer TEXT NOT NULL,
  amount NUMERIC(12,2) NOT NULL,
  placed_on DATE NOT NULL DEFAULT CURRENT_DATE,
  updated_at TIMESTAMP(3) NOT NULL DEFAULT now()
);
INSERT INTO orders (customer, amount)
SELECT 'customer-' || g, g * 10.25 FROM generate_series(1, 5) g
WHERE NOT EXISTS (SELECT 1 FROM orders);
