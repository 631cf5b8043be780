"""The earlier system's tables, in one of its two shapes.

`create_schema` writes them (docs: /work/shared/earlier-system.md, summarised in
docs/operations.md) before clinics (no `tenants`, no `tenant_id`), or with clinics (a `tenants`
table and `tenant_id` on the 13 tables that had it).
"""

from __future__ import annotations

DDL = """
CREATE TYPE user_role AS ENUM
    ('super_admin', 'admin', 'doctor', 'nurse', 'receptionist', 'patient');
CREATE TYPE gender AS ENUM ('male', 'female', 'other', 'prefer_not_to_say');
CREATE TYPE relationship AS ENUM
    ('self', 'spouse', 'child', 'parent', 'sibling', 'grandparent', 'grandchild', 'other');
CREATE TYPE appointment_status AS ENUM
    ('scheduled', 'confirmed', 'in_progress', 'completed', 'cancelled', 'no_show', 'rescheduled');
CREATE TYPE appointment_type AS ENUM ('scheduled', 'walk_in');
CREATE TYPE prescription_status AS ENUM
    ('draft', 'active', 'dispensed', 'completed', 'cancelled', 'expired');
{tenants}
CREATE TABLE users (
    {base}, {tenant}
    email varchar(255) NOT NULL UNIQUE, hashed_password varchar(255), role user_role NOT NULL,
    first_name varchar(100) NOT NULL, last_name varchar(100) NOT NULL, phone varchar(20),
    keycloak_id varchar(255), is_email_verified boolean DEFAULT false,
    is_phone_verified boolean DEFAULT false, last_login_at text);
CREATE TABLE doctors (
    {base}, {tenant}
    user_id uuid NOT NULL UNIQUE REFERENCES users(id), license_number varchar(50) NOT NULL UNIQUE,
    specialization varchar(200) NOT NULL, qualification text, experience_years integer,
    phone varchar(20), consultation_fee varchar(20), consultation_duration integer DEFAULT 30,
    availability_schedule jsonb, clinic_address text, offices jsonb DEFAULT '[]');
CREATE TABLE patients (
    mobile_number varchar(15) NOT NULL, first_name varchar(100) NOT NULL,
    id uuid NOT NULL UNIQUE, created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(), is_active boolean DEFAULT true,
    created_by uuid REFERENCES users(id), {tenant}
    last_name varchar(100) NOT NULL, date_of_birth date NOT NULL, gender gender NOT NULL,
    email varchar(255), address text, notes text,
    relationship_to_primary relationship DEFAULT 'self', primary_contact_mobile varchar(15),
    emergency_contact jsonb,
    PRIMARY KEY (mobile_number, first_name));
CREATE TABLE medicines (
    {base}, {tenant_nullable}
    name varchar(200) NOT NULL, generic_name varchar(200), composition text NOT NULL,
    manufacturer varchar(200), dosage_forms text[], strength varchar(100),
    drug_category varchar(100), price numeric(10, 2), requires_prescription boolean DEFAULT true,
    atc_code varchar(20), storage_conditions text, contraindications text, side_effects text);
CREATE TABLE short_keys (
    id uuid PRIMARY KEY, created_at timestamptz DEFAULT now(), updated_at timestamptz,
    is_active boolean DEFAULT true, created_by uuid NOT NULL REFERENCES users(id), {tenant}
    code varchar(20) NOT NULL UNIQUE, name varchar(100) NOT NULL, description text,
    is_global boolean DEFAULT false, usage_count integer DEFAULT 0);
CREATE TABLE short_key_medicines (
    {base},
    short_key_id uuid NOT NULL REFERENCES short_keys(id),
    medicine_id uuid NOT NULL REFERENCES medicines(id), default_dosage varchar(100) NOT NULL,
    default_frequency varchar(100) NOT NULL, default_duration varchar(100) NOT NULL,
    default_instructions text, sequence_order integer DEFAULT 1);
CREATE TABLE appointments (
    {base}, {tenant}
    appointment_number varchar(20) NOT NULL UNIQUE, patient_mobile_number varchar(15) NOT NULL,
    patient_first_name varchar(100) NOT NULL, patient_uuid uuid NOT NULL,
    doctor_id uuid NOT NULL REFERENCES doctors(id), office_id varchar(50),
    appointment_date date NOT NULL, appointment_time time NOT NULL,
    duration_minutes integer DEFAULT 30, status appointment_status DEFAULT 'scheduled',
    {appointment_type}
    reason_for_visit text NOT NULL, notes text, contact_number varchar(15));
CREATE TABLE prescriptions (
    {base}, {tenant}
    prescription_number varchar(20) NOT NULL UNIQUE, patient_mobile_number varchar(15) NOT NULL,
    patient_first_name varchar(100) NOT NULL, patient_uuid uuid NOT NULL,
    doctor_id uuid NOT NULL REFERENCES doctors(id), appointment_id uuid REFERENCES appointments(id),
    visit_date date NOT NULL, chief_complaint text, diagnosis text NOT NULL, symptoms text,
    clinical_notes text, doctor_instructions text, status prescription_status DEFAULT 'active',
    is_printed boolean DEFAULT false, printed_at timestamp, template_used varchar(100));
CREATE TABLE prescription_items (
    {base}, {tenant}
    prescription_id uuid NOT NULL REFERENCES prescriptions(id),
    medicine_id uuid NOT NULL REFERENCES medicines(id), dosage varchar(100) NOT NULL,
    frequency varchar(100) NOT NULL, duration varchar(100) NOT NULL, instructions text,
    quantity integer DEFAULT 1, unit_price numeric(10, 2), total_amount numeric(10, 2),
    is_generic_substitution_allowed boolean DEFAULT true, sequence_order integer DEFAULT 1);
CREATE TABLE dental_observations (
    {base}, {tenant}
    patient_mobile_number varchar(15) NOT NULL, patient_first_name varchar(100) NOT NULL,
    prescription_id uuid REFERENCES prescriptions(id),
    appointment_id uuid REFERENCES appointments(id), tooth_number varchar(3) NOT NULL,
    tooth_surface varchar(20), condition_type varchar(50) NOT NULL, severity varchar(50),
    observation_notes text, custom_notes text, selected_template_ids text,
    treatment_required boolean DEFAULT false, treatment_done boolean DEFAULT false,
    treatment_date date);
CREATE TABLE dental_procedures (
    {base}, {tenant}
    observation_id uuid REFERENCES dental_observations(id),
    prescription_id uuid REFERENCES prescriptions(id),
    appointment_id uuid REFERENCES appointments(id), procedure_code varchar(20) NOT NULL,
    procedure_name varchar(200) NOT NULL, tooth_numbers text, description text,
    estimated_cost numeric(10, 2), actual_cost numeric(10, 2), duration_minutes integer,
    status varchar(20) DEFAULT 'planned', procedure_date date, completed_date date,
    procedure_notes text, complications text);
CREATE TABLE dental_observation_templates (
    {base}, {tenant}
    condition_type varchar(50), tooth_surface varchar(20), severity varchar(50),
    template_text text NOT NULL, short_code varchar(20), display_order integer DEFAULT 0,
    is_global boolean DEFAULT false, specialization varchar(100),
    created_by_doctor uuid REFERENCES doctors(id));
CREATE TABLE case_studies (
    id uuid PRIMARY KEY, created_at timestamp DEFAULT now(), updated_at timestamp,
    is_active boolean DEFAULT true, created_by uuid, {tenant}
    case_study_number varchar(30), patient_mobile_number varchar(15),
    patient_first_name varchar(100), patient_uuid uuid, doctor_id uuid, title text,
    appointment_ids text, prescription_ids text, procedure_ids text, observation_ids text,
    status varchar(20));
CREATE TABLE dental_attachments (
    id uuid PRIMARY KEY, created_at timestamp DEFAULT now(), updated_at timestamp,
    is_active boolean DEFAULT true, {tenant}
    observation_id uuid REFERENCES dental_observations(id),
    procedure_id uuid REFERENCES dental_procedures(id),
    case_study_id uuid REFERENCES case_studies(id),
    patient_mobile_number varchar(15) NOT NULL, patient_first_name varchar(100) NOT NULL,
    file_type varchar(20) NOT NULL, file_name varchar(255) NOT NULL, file_path text NOT NULL,
    file_size integer, mime_type varchar(100), caption text, taken_date date,
    uploaded_by uuid REFERENCES users(id));
CREATE TABLE audit_logs (
    {base}, table_name varchar(100), record_id uuid, action varchar(20), old_values jsonb,
    new_values jsonb, performed_by uuid);
{templates}
"""

BASE = (
    "id uuid PRIMARY KEY, created_at timestamptz DEFAULT now(), "
    "updated_at timestamptz DEFAULT now(), is_active boolean DEFAULT true, created_by uuid"
)
TENANTS = """
CREATE TABLE tenants (
    {base}, tenant_name varchar(200) NOT NULL, tenant_code varchar(50) NOT NULL UNIQUE,
    subscription_plan varchar(20) DEFAULT 'trial', subscription_status varchar(20),
    trial_ends_at timestamptz, subscription_ends_at timestamptz, max_clinics integer DEFAULT 1,
    max_doctors integer DEFAULT 5, max_patients integer DEFAULT 1000,
    max_storage_mb integer DEFAULT 1024, billing_email varchar(255),
    support_email varchar(255), phone varchar(20), settings jsonb DEFAULT '{{}}');
"""
TEMPLATES = """
CREATE TABLE prescription_templates (
    {base}, tenant_id uuid NOT NULL REFERENCES tenants(id), doctor_id uuid REFERENCES doctors(id),
    office_id uuid, name varchar(100) NOT NULL, description text, paper_size varchar(10),
    orientation varchar(10), margin_top integer, margin_bottom integer, margin_left integer,
    margin_right integer, layout_config jsonb, logo_url text, signature_url text,
    signature_text text, is_default boolean DEFAULT false, preset_type varchar(30));
"""


def create_schema(conn, *, with_clinics: bool = False, appointment_type: bool = True) -> None:
    """The earlier system's tables on `conn` (a psycopg connection), in the shape asked for."""
    ddl = DDL.format(
        base=BASE,
        tenants=TENANTS.format(base=BASE) if with_clinics else "",
        tenant="tenant_id uuid NOT NULL REFERENCES tenants(id)," if with_clinics else "",
        tenant_nullable="tenant_id uuid REFERENCES tenants(id)," if with_clinics else "",
        appointment_type=(
            "appointment_type appointment_type NOT NULL DEFAULT 'scheduled',"
            if appointment_type
            else ""
        ),
        templates=TEMPLATES.format(base=BASE) if with_clinics else "",
    )
    conn.execute(ddl)
