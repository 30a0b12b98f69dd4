-- The role × permission matrix changes rarely and is needed on every request. Each
-- instance keeps it in memory under this version number, which the per-request session
-- check reads: any change to roles, permissions or grants bumps it in the same
-- transaction, so every instance loads the new matrix on its next request.
CREATE TABLE access_matrix_version (
    id      BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
    version BIGINT NOT NULL
);
INSERT INTO access_matrix_version (version) VALUES (1);

CREATE FUNCTION bump_access_matrix_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE access_matrix_version SET version = version + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER roles_bump_access_matrix_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON roles
    FOR EACH STATEMENT EXECUTE FUNCTION bump_access_matrix_version();
CREATE TRIGGER permissions_bump_access_matrix_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON permissions
    FOR EACH STATEMENT EXECUTE FUNCTION bump_access_matrix_version();
CREATE TRIGGER role_permissions_bump_access_matrix_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON role_permissions
    FOR EACH STATEMENT EXECUTE FUNCTION bump_access_matrix_version();
